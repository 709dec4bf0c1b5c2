-- Focal points: the spikes of int_focal_points__scored (a city's attention to an area jumps
-- above its trailing baseline), with the tracked terms that drive each spike: the area's
-- taxonomy keywords and the watch-list terms mentioned in the city that day, ranked by how far
-- their mentions exceed their own trailing daily average (top 5).
with spikes as (
    select s.*
    from {{ ref('int_focal_points__scored') }} as s
    where s.is_spike
),

terms as (
    select
        s.city_code,
        s.area_id,
        s.day,
        k.keyword,
        k.posts as mentions,
        coalesce((
            select sum(h.posts)
            from {{ ref('int_keyword_city_days__counted') }} as h
            where
                h.city_code = k.city_code
                and h.keyword = k.keyword
                and h.label = k.label
                and h.day between s.day - {{ var('focal_baseline_days') }} and s.day - 1
        ), 0) / cast({{ var('focal_baseline_days') }} as double precision) as baseline_mentions
    from spikes as s
    inner join {{ ref('int_keyword_city_days__counted') }} as k
        on
            s.city_code = k.city_code
            and s.day = k.day
            and (s.area_id = k.label or k.kind = 'watchlist')
),

ranked as (
    select
        t.*,
        row_number() over (
            partition by t.city_code, t.area_id, t.day
            order by t.mentions - t.baseline_mentions desc, t.keyword asc
        ) as term_rank
    from terms as t
),

drivers as (
    select
        r.city_code,
        r.area_id,
        r.day,
        array_agg(r.keyword order by r.term_rank) as driving_terms
    from ranked as r
    where r.term_rank <= 5
    group by r.city_code, r.area_id, r.day
)

select
    s.city_code,
    c.city_name,
    c.country_code,
    s.area_id,
    ar.label as area_label,
    s.day,
    s.posts,
    s.baseline_days,
    s.baseline_median,
    s.baseline_mad,
    s.robust_z,
    d.driving_terms
from spikes as s
inner join {{ ref('dim_cities') }} as c on s.city_code = c.city_code
inner join {{ ref('dim_integration_areas') }} as ar on s.area_id = ar.area_id
left join drivers as d
    on s.city_code = d.city_code and s.area_id = d.area_id and s.day = d.day
