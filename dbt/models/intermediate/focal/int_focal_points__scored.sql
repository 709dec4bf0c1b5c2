-- Every city x area x day with posts, scored against its trailing baseline: the median and the
-- median absolute deviation (MAD) of the area's daily posts in that city over the previous
-- `focal_baseline_days` days (days without posts count as 0). robust_z = (posts - median) /
-- max(1.4826 * MAD, 1): the floor keeps a flat baseline from turning one extra post into a
-- spike. A spike needs at least `focal_min_posts` posts, `focal_min_baseline_days` days of
-- history and robust_z >= `focal_z_threshold`. The cells are those of mart_city_area_daily: the
-- daily sums of the known cities and the taxonomy's areas.
with daily as (
    select
        d.city_code,
        d.area_id,
        d.day,
        cast(d.posts as integer) as posts
    from {{ ref('int_city_area_days__summed') }} as d
    inner join {{ ref('int_cities__reconciled') }} as c on d.city_code = c.city_code
    inner join {{ ref('integration_areas') }} as a on d.area_id = a.area_id
),

bounds as (
    select
        min(d.day) as first_day,
        max(d.day) as last_day
    from daily as d
),

calendar as (
    select cast(s.day as date) as day
    from bounds as b
    cross join lateral generate_series(b.first_day, b.last_day, interval '1 day') as s (day)
),

cells as (
    select distinct
        d.city_code,
        d.area_id
    from daily as d
),

grid as (
    select
        c.city_code,
        c.area_id,
        cal.day,
        coalesce(d.posts, 0) as posts
    from cells as c
    cross join calendar as cal
    left join daily as d
        on c.city_code = d.city_code and c.area_id = d.area_id and cal.day = d.day
),

history as (
    select
        g.city_code,
        g.area_id,
        g.day,
        h.posts as past_posts
    from grid as g
    inner join grid as h
        on
            g.city_code = h.city_code
            and g.area_id = h.area_id
            and h.day between g.day - {{ var('focal_baseline_days') }} and g.day - 1
    where g.posts > 0
),

medians as (
    select
        h.city_code,
        h.area_id,
        h.day,
        count(*) as baseline_days,
        percentile_cont(0.5) within group (order by h.past_posts) as baseline_median
    from history as h
    group by h.city_code, h.area_id, h.day
),

mads as (
    select
        m.city_code,
        m.area_id,
        m.day,
        percentile_cont(0.5) within group (
            order by abs(h.past_posts - m.baseline_median)
        ) as baseline_mad
    from medians as m
    inner join history as h
        on m.city_code = h.city_code and m.area_id = h.area_id and m.day = h.day
    group by m.city_code, m.area_id, m.day
),

scored as (
    select
        d.city_code,
        d.area_id,
        d.day,
        d.posts,
        coalesce(m.baseline_days, 0) as baseline_days,
        m.baseline_median,
        a.baseline_mad,
        (d.posts - m.baseline_median)
        / greatest(1.4826 * a.baseline_mad, 1.0) as robust_z
    from daily as d
    left join medians as m
        on d.city_code = m.city_code and d.area_id = m.area_id and d.day = m.day
    left join mads as a
        on d.city_code = a.city_code and d.area_id = a.area_id and d.day = a.day
)

select
    s.city_code,
    s.area_id,
    s.day,
    s.posts,
    s.baseline_days,
    s.baseline_median,
    s.baseline_mad,
    s.robust_z,
    coalesce(
        s.posts >= {{ var('focal_min_posts') }}
        and s.baseline_days >= {{ var('focal_min_baseline_days') }}
        and s.robust_z >= {{ var('focal_z_threshold') }},
        false
    ) as is_spike
from scored as s
