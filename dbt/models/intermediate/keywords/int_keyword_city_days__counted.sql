{#- analyze: fresh statistics for the plans of the models that read this one (autovacuum comes
    too late for them). -#}
{{
    config(
        materialized='incremental',
        unique_key=['city_code', 'day'],
        incremental_strategy='delete+insert',
        pre_hook='{{ delete_rebuilt_cells() }}',
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['city_code', 'day']},
            {'columns': ['max_post_id']},
            {'columns': ['city_code', 'keyword', 'label', 'day']},
        ],
    )
}}
-- Tracked keywords per city and day: how many posts mention each term (a post counts once per
-- term and label, and for each city it is attributed to). Incremental per (city, day) cell like
-- int_city_area_days__summed.
with {{ current_key_cte(ref('int_post_cities__attributed')) }},

posts as (
    select
        f.post_id,
        f.city_code,
        f.day
    from {{ ref('int_post_cities__attributed') }} as f
    where
        f.city_code is not null
        {{ affected_cells_filter('f') }}
),

mentions as (
    select distinct
        p.post_id,
        p.city_code,
        p.day,
        k.keyword,
        k.kind,
        k.label
    from posts as p
    inner join {{ ref('stg_ml__post_keywords') }} as k on p.post_id = k.post_id
)

select
    m.city_code,
    m.day,
    m.keyword,
    m.kind,
    m.label,
    count(*) as posts,
    max(m.post_id) as max_post_id,
    max(c.versions_key) as versions_key
from mentions as m
cross join current_key as c
group by m.city_code, m.day, m.keyword, m.kind, m.label
