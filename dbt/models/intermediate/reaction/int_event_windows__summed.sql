-- Each event of the events seed with the posts of its scope (a city, or every city of a
-- country) in the `reaction_window_days` days before the event day and the same number of days
-- from the event day on: additive sums per window, from int_city_area_days__summed (all posts,
-- any area).
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
        d.city_code,
        c.country_code,
        d.day,
        d.posts,
        d.sentiment_posts,
        d.polarity_sum,
        d.negative_posts,
        d.hate_classified_posts,
        d.hate_posts
    from {{ ref('int_city_area_days__summed') }} as d
    inner join {{ ref('int_cities__reconciled') }} as c on d.city_code = c.city_code
    where d.area_id = '*'
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
    inner join city_days as d
        on
            (
                (e.scope = 'city' and e.code = d.city_code)
                or (e.scope = 'country' and e.code = d.country_code)
            )
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
