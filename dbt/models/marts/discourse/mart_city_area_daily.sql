-- City x integration area x day: how much of a city's conversation an area gets.
-- attention_share normalises by the city's own volume, so cities of any size compare.
with city_day as (
    select
        city_code,
        day,
        count(*) as city_posts
    from {{ ref('fct_posts') }}
    where city_code is not null
    group by city_code, day
),

area_day as (
    select
        p.city_code,
        p.day,
        a.area_id,
        count(*) as posts
    from {{ ref('fct_posts') }} as p
    inner join {{ ref('stg_ml__post_areas') }} as a on p.post_id = a.post_id
    where p.city_code is not null
    group by p.city_code, p.day, a.area_id
)

select
    c.city_code,
    c.city_name,
    c.country_code,
    ad.area_id,
    ar.label as area_label,
    ar.dimension,
    ad.day,
    cast(ad.posts as integer) as posts,
    cast(cd.city_posts as integer) as city_posts,
    cast(ad.posts as double precision) / cd.city_posts as attention_share
from area_day as ad
inner join city_day as cd on ad.city_code = cd.city_code and ad.day = cd.day
inner join {{ ref('dim_cities') }} as c on ad.city_code = c.city_code
inner join {{ ref('dim_integration_areas') }} as ar on ad.area_id = ar.area_id
