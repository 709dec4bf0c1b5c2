-- City comparison per period (calendar year and month): what is said online beside how the city
-- is, normalised so cities of any size compare. Discourse figures (all posts of the city, any
-- area) per 100,000 inhabitants and per post (shares); official statistics as of the period:
-- the latest value whose period starts on or before the period's end (`*_period` says which).
-- Which indicators feed which column is data (seed comparison_indicators): the demo file's ids
-- and the real ones (Eurostat urb_cpop1, urb_cpopcb counts turned into shares, urb_clma,
-- lfsa_urgan at country level, MIPEX) alike. A city's own figure beats its country's; among
-- figures of one level the latest period wins, then the seed's priority.
with periods as (
    -- Every day counts once per period type: its calendar year and its month.
    select
        t.period_type,
        cast(date_trunc(t.period_type, d.day) as date) as period_start,
        d.city_code,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from {{ ref('int_city_area_days__summed') }} as d
    cross join (values ('year'), ('month')) as t (period_type)
    where d.area_id = '*'
),

discourse as (
    select
        p.period_type,
        p.period_start,
        cast(
            p.period_start + cast('1 ' || p.period_type as interval) - interval '1 day' as date
        ) as period_end,
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

mapping as (
    select
        indicator,
        geo_level,
        comparison_column,
        method,
        priority
    from {{ ref('comparison_indicators') }}
),

-- Population per city and period: the denominator of the figures published as counts.
city_population as (
    select distinct on (s.city_code, s.period)
        s.city_code,
        s.period,
        s.value
    from {{ ref('fct_city_statistics') }} as s
    inner join mapping as m
        on
            s.indicator = m.indicator
            and m.geo_level = 'city'
            and m.comparison_column = 'population'
    where s.value > 0 and s.frequency = 'A'
    order by s.city_code asc, s.period asc, m.priority asc, s.fetched_at desc
),

official as (
    select
        s.city_code,
        m.geo_level,
        m.comparison_column,
        m.priority,
        s.period,
        s.period_start,
        s.fetched_at,
        case
            when m.method = 'share_of_population' then 100 * s.value / p.value
            else s.value
        end as value  -- noqa: RF04
    from {{ ref('fct_city_statistics') }} as s
    inner join mapping as m on s.indicator = m.indicator and m.geo_level = 'city'
    left join city_population as p
        on
            m.method = 'share_of_population'
            and s.city_code = p.city_code
            and s.period = p.period
    where s.value is not null and s.frequency = 'A'
    union all
    select
        c.city_code,
        m.geo_level,
        m.comparison_column,
        m.priority,
        s.period,
        s.period_start,
        s.fetched_at,
        s.value
    from {{ ref('fct_country_statistics') }} as s
    inner join mapping as m on s.indicator = m.indicator and m.geo_level = 'country'
    inner join {{ ref('dim_cities') }} as c on s.country_code = c.country_code
    where s.value is not null and s.frequency = 'A'
),

as_of as (
    select
        d.period_type,
        d.period_start,
        d.city_code,
        o.geo_level,
        o.comparison_column,
        o.period,
        o.value,
        row_number() over (
            partition by
                d.period_type, d.period_start, d.city_code, o.geo_level, o.comparison_column
            order by o.period_start desc, o.priority asc, o.fetched_at desc, o.value desc
        ) as recency
    from discourse as d
    inner join official as o
        on d.city_code = o.city_code and d.period_end >= o.period_start
    where o.value is not null
),

stats as (
    select
        a.period_type,
        a.period_start,
        a.city_code,
        max(a.value) filter (
            where a.comparison_column = 'population' and a.geo_level = 'city'
        ) as population,
        max(a.period) filter (
            where a.comparison_column = 'population' and a.geo_level = 'city'
        ) as population_period,
        max(a.value) filter (
            where a.comparison_column = 'foreign_citizens_share' and a.geo_level = 'city'
        ) as foreign_citizens_share,
        max(a.period) filter (
            where a.comparison_column = 'foreign_citizens_share' and a.geo_level = 'city'
        ) as foreign_citizens_share_period,
        max(a.value) filter (
            where a.comparison_column = 'foreign_born_share' and a.geo_level = 'city'
        ) as foreign_born_share,
        max(a.period) filter (
            where a.comparison_column = 'foreign_born_share' and a.geo_level = 'city'
        ) as foreign_born_share_period,
        max(a.value) filter (
            where a.comparison_column = 'unemployment_rate' and a.geo_level = 'city'
        ) as unemployment_rate_city,
        max(a.value) filter (
            where a.comparison_column = 'unemployment_rate_foreign' and a.geo_level = 'city'
        ) as unemployment_rate_foreign_city,
        max(a.period) filter (
            where a.comparison_column = 'unemployment_rate_foreign' and a.geo_level = 'city'
        ) as unemployment_period_city,
        max(a.value) filter (
            where a.comparison_column = 'unemployment_rate' and a.geo_level = 'country'
        ) as unemployment_rate_country,
        max(a.value) filter (
            where a.comparison_column = 'unemployment_rate_foreign' and a.geo_level = 'country'
        ) as unemployment_rate_foreign_country,
        max(a.period) filter (
            where a.comparison_column = 'unemployment_rate_foreign' and a.geo_level = 'country'
        ) as unemployment_period_country,
        max(a.value) filter (where a.comparison_column = 'mipex_overall') as mipex_overall,
        max(a.period) filter (where a.comparison_column = 'mipex_overall') as mipex_edition
    from as_of as a
    where a.recency = 1
    group by a.period_type, a.period_start, a.city_code
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
    s.foreign_born_share,
    s.foreign_born_share_period,
    -- Unemployment: the city's own rates when it has them, else its country's (LFS); the gap
    -- compares foreign citizens with everyone at the same level, never a city with a country.
    coalesce(s.unemployment_rate_city, s.unemployment_rate_country) as unemployment_rate,
    coalesce(s.unemployment_rate_foreign_city, s.unemployment_rate_foreign_country)
        as unemployment_rate_foreign,
    case
        when s.unemployment_rate_foreign_city is not null
            then s.unemployment_rate_foreign_city - s.unemployment_rate_city
        else s.unemployment_rate_foreign_country - s.unemployment_rate_country
    end as unemployment_gap_foreign,
    coalesce(s.unemployment_period_city, s.unemployment_period_country) as unemployment_period,
    case
        when s.unemployment_rate_foreign_city is not null then 'city'
        when s.unemployment_rate_foreign_country is not null then 'country'
    end as unemployment_geo_level,
    s.mipex_overall,
    s.mipex_edition
from discourse as d
inner join {{ ref('dim_cities') }} as c on d.city_code = c.city_code
left join stats as s
    on
        d.period_type = s.period_type
        and d.period_start = s.period_start
        and d.city_code = s.city_code
