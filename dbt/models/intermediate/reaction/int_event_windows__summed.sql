-- Each event of the events seed with the posts of its scope (a city, or every city of a
-- country) in the `reaction_window_days` days before the event day and the same number of days
-- from the event day on: additive sums per window. A city's posts come from
-- int_city_area_days__summed (all posts, any area); a country's are its distinct posts, from
-- int_post_cities__attributed: a post naming two cities of the country counts once.
with events as (
    select
        e.event_id,
        e.title,
        e.kind,
        e.event_date,
        e.scope,
        e.code,
        e.areas
    from {{ ref('events') }} as e
),

city_days as (
    select
        d.city_code as scope_code,
        d.day,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from {{ ref('int_city_area_days__summed') }} as d
    where d.area_id = '*'
),

country_posts as (
    select distinct
        c.country_code,
        a.post_id,
        a.day,
        a.sentiment,
        a.polarity,
        a.is_hate
    from {{ ref('int_post_cities__attributed') }} as a
    inner join {{ ref('int_cities__reconciled') }} as c on a.city_code = c.city_code
    inner join events as e
        on
            e.scope = 'country'
            and c.country_code = e.code
            and a.day >= e.event_date - {{ var('reaction_window_days') }}
            and a.day < e.event_date + {{ var('reaction_window_days') }}
),

scope_days as (
    select
        'city' as scope,
        d.scope_code,
        d.day,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from city_days as d
    union all
    select
        'country' as scope,
        p.country_code as scope_code,
        p.day,
        count(*) as posts,
        count(p.sentiment) as sentiment_posts,
        coalesce(sum(p.polarity), 0) as polarity_sum,
        count(*) filter (where p.sentiment = 'negative') as negative_posts,
        count(p.is_hate) as hate_classified_posts,
        count(*) filter (where p.is_hate) as hate_posts
    from country_posts as p
    group by p.country_code, p.day
),

windowed as (
    select
        e.event_id,
        case when d.day < e.event_date then 'before' else 'after' end as event_window,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from events as e
    inner join scope_days as d
        on
            e.scope = d.scope
            and e.code = d.scope_code
            and d.day >= e.event_date - {{ var('reaction_window_days') }}
            and d.day < e.event_date + {{ var('reaction_window_days') }}
)

select
    e.event_id,
    e.title,
    e.kind,
    e.event_date,
    e.scope,
    e.code,
    e.areas,
    w.event_window,
    coalesce(sum(d.posts), 0) as posts,
    coalesce(sum(d.sentiment_posts), 0) as sentiment_posts,
    coalesce(sum(d.polarity_sum), 0) as polarity_sum,
    coalesce(sum(d.negative_posts), 0) as negative_posts,
    coalesce(sum(d.hate_classified_posts), 0) as hate_classified_posts,
    coalesce(sum(d.hate_posts), 0) as hate_posts
from events as e
cross join (values ('before'), ('after')) as w (event_window)
left join windowed as d on e.event_id = d.event_id and w.event_window = d.event_window
group by e.event_id, e.title, e.kind, e.event_date, e.scope, e.code, e.areas, w.event_window
