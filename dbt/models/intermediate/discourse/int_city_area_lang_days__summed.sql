{{
    config(
        materialized='incremental',
        unique_key=['city_code', 'day'],
        incremental_strategy='delete+insert',
        pre_hook='{{ delete_rebuilt_cells() }}',
        post_hook='analyze {{ this }}',
        indexes=[{'columns': ['city_code', 'day']}, {'columns': ['max_post_id']}],
    )
}}
-- The counts the classifiers decide, per city x area x day x detected language (area_id '*' =
-- all posts of the city that day): the marts correct their shares for classifier error per
-- language (macro corrected_shares), because the classifiers' error rates differ by
-- language. Incremental per (city, day) cell, like int_city_area_days__summed.
with {{ current_key_cte(ref('int_post_cities__attributed')) }},

posts as (
    select f.*
    from {{ ref('int_post_cities__attributed') }} as f
    where
        f.city_code is not null
        {{ affected_cells_filter('f') }}
),

expanded as (
    select
        p.post_id,
        p.city_code,
        p.day,
        p.lang,
        a.area_id,
        p.sentiment,
        p.is_hate
    from posts as p
    cross join lateral unnest(p.areas) as a (area_id)
    union all
    select
        p.post_id,
        p.city_code,
        p.day,
        p.lang,
        '*' as area_id,
        p.sentiment,
        p.is_hate
    from posts as p
)

select
    e.city_code,
    e.day,
    e.area_id,
    e.lang,
    count(*) as posts,
    count(e.sentiment) as sentiment_posts,
    count(*) filter (where e.sentiment = 'negative') as negative_posts,
    count(e.is_hate) as hate_classified_posts,
    count(*) filter (where e.is_hate) as hate_posts,
    max(e.post_id) as max_post_id,
    max(k.versions_key) as versions_key
from expanded as e
cross join current_key as k
group by e.city_code, e.day, e.area_id, e.lang
