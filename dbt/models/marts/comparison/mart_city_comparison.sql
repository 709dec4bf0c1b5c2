-- City comparison per period (calendar year and month): what is said online beside how the city
-- is, normalised so cities of any size compare. Discourse figures (all posts of the city, any
-- area) per 100,000 inhabitants and per post (shares); official statistics as of the period:
-- the latest value whose period starts on or before the period's end (`*_period` says which).
-- MIPEX is the country's overall score of the latest edition on or before the period.
with periods as (
    select
        'year' as period_type,
        cast(date_trunc('year', d.day) as date) as period_start,
        d.city_code,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from {{ ref('int_city_area_day') }} as d
    where d.area_id = '*'
    union all
    select
        'month' as period_type,
        cast(date_trunc('month', d.day) as date) as period_start,
        d.city_code,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from {{ ref('int_city_area_day') }} as d
    where d.area_id = '*'
),

discourse as (
    select
        p.period_type,
        p.period_start,
        cast(case
            when p.period_type = 'year' then p.period_start + interval '1 year' - interval '1 day'
            else p.period_start + interval '1 month' - interval '1 day'
        end as date) as period_end,
        p.city_code,
        sum(p.posts) as posts,
        sum(p.sentiment_posts) as sentiment_posts,
        sum(p.polarity_sum) as polarity_sum,
        sum(p.negative_posts) as negative_posts,
        sum(p.hate_classified_posts) as hate_classified_posts,
        sum(p.hate_posts) as hate_posts
    from periods as p
    group by p.period_type, p.period_start, p.city_code
),

city_stats as (
    select
        s.city_code,
        s.indicator,
        s.period,
        s.period_start,
        s.value
    from {{ ref('fct_city_statistics') }} as s
    where
        s.value is not null
        and s.frequency = 'A'
        and s.indicator in (
            'population',
            'foreign_citizens_share',
            'unemployment_rate',
            'unemployment_rate_foreign'
        )
),

as_of as (
    select
        d.period_type,
        d.period_start,
        d.city_code,
        s.indicator,
        s.period,
        s.value,
        row_number() over (
            partition by d.period_type, d.period_start, d.city_code, s.indicator
            order by s.period_start desc, s.period desc
        ) as recency
    from discourse as d
    inner join city_stats as s
        on d.city_code = s.city_code and d.period_end >= s.period_start
),

stats as (
    select
        a.period_type,
        a.period_start,
        a.city_code,
        max(a.value) filter (where a.indicator = 'population') as population,
        max(a.period) filter (where a.indicator = 'population') as population_period,
        max(a.value) filter (where a.indicator = 'foreign_citizens_share')
            as foreign_citizens_share,
        max(a.period) filter (where a.indicator = 'foreign_citizens_share')
            as foreign_citizens_share_period,
        max(a.value) filter (where a.indicator = 'unemployment_rate') as unemployment_rate,
        max(a.value) filter (where a.indicator = 'unemployment_rate_foreign')
            as unemployment_rate_foreign,
        max(a.period) filter (where a.indicator = 'unemployment_rate_foreign')
            as unemployment_period
    from as_of as a
    where a.recency = 1
    group by a.period_type, a.period_start, a.city_code
),

mipex as (
    select
        d.period_type,
        d.period_start,
        d.city_code,
        m.value,
        m.period,
        row_number() over (
            partition by d.period_type, d.period_start, d.city_code
            order by m.period_start desc, m.fetched_at desc
        ) as recency
    from discourse as d
    inner join {{ ref('dim_cities') }} as c on d.city_code = c.city_code
    inner join {{ ref('fct_country_statistics') }} as m
        on
            c.country_code = m.country_code
            and m.indicator = 'mipex_overall'
            and m.value is not null
            and d.period_end >= m.period_start
)

select
    d.period_type,
    d.period_start,
    d.period_end,
    d.city_code,
    c.city_name,
    c.country_code,
    cast(d.posts as integer) as posts,
    cast(d.hate_posts as integer) as hate_posts,
    cast(s.population as bigint) as population,
    s.population_period,
    cast(d.posts as double precision) * 100000 / nullif(s.population, 0) as posts_per_100k,
    cast(d.hate_posts as double precision) * 100000
    / nullif(s.population, 0) as hate_posts_per_100k,
    cast(d.polarity_sum / nullif(d.sentiment_posts, 0) as double precision) as mean_sentiment,
    cast(d.negative_posts as double precision)
    / nullif(d.sentiment_posts, 0) as negative_share,
    cast(d.hate_posts as double precision) / nullif(d.hate_classified_posts, 0) as hate_share,
    s.foreign_citizens_share,
    s.foreign_citizens_share_period,
    s.unemployment_rate,
    s.unemployment_rate_foreign,
    s.unemployment_rate_foreign - s.unemployment_rate as unemployment_gap_foreign,
    s.unemployment_period,
    m.value as mipex_overall,
    m.period as mipex_edition
from discourse as d
inner join {{ ref('dim_cities') }} as c on d.city_code = c.city_code
left join stats as s
    on
        d.period_type = s.period_type
        and d.period_start = s.period_start
        and d.city_code = s.city_code
left join mipex as m
    on
        d.period_type = m.period_type
        and d.period_start = m.period_start
        and d.city_code = m.city_code
        and m.recency = 1
