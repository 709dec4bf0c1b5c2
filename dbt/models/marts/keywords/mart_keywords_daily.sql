{{ config(indexes=[{'columns': ['city_code', 'day']}, {'columns': ['keyword']}]) }}
-- Tracked terms per city and day: posts mentioning each term, and the term's share of the
-- city's posts that day. Counts only; no text (KWIC samples are in fct_keyword_contexts).
select
    k.city_code,
    c.city_name,
    c.country_code,
    k.day,
    k.keyword,
    k.kind,
    k.label,
    cast(k.posts as integer) as posts,
    cast(t.posts as integer) as city_posts,
    cast(k.posts as double precision) / t.posts as share_of_city_posts
from {{ ref('int_keyword_city_days__counted') }} as k
inner join {{ ref('int_city_area_days__summed') }} as t
    on k.city_code = t.city_code and k.day = t.day and t.area_id = '*'
inner join {{ ref('dim_cities') }} as c on k.city_code = c.city_code
