{#- analyze: fresh statistics for the plans of the models that read this one (autovacuum comes
    too late for them). -#}
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
-- Additive sums per city x area x day (area_id '*' = all posts of the city that day, with or
-- without an area): the base of the daily, weekly and monthly marts, the comparison and the
-- reaction windows. Sums (not means) so any roll-up over days is exact. A post counts once for
-- each city it is attributed to (int_post_cities__attributed), so sums over cities are not
-- post counts.
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
        a.area_id,
        p.sentiment,
        p.polarity,
        p.is_hate
    from posts as p
    cross join lateral unnest(p.areas) as a (area_id)
    union all
    select
        p.post_id,
        p.city_code,
        p.day,
        '*' as area_id,
        p.sentiment,
        p.polarity,
        p.is_hate
    from posts as p
)

select
    e.city_code,
    e.day,
    e.area_id,
    count(*) as posts,
    count(e.sentiment) as sentiment_posts,
    coalesce(sum(e.polarity), 0) as polarity_sum,
    count(*) filter (where e.sentiment = 'negative') as negative_posts,
    count(e.is_hate) as hate_classified_posts,
    count(*) filter (where e.is_hate) as hate_posts,
    max(e.post_id) as max_post_id,
    max(k.versions_key) as versions_key
from expanded as e
cross join current_key as k
group by e.city_code, e.day, e.area_id
