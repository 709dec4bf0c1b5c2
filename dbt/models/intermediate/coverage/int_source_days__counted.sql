{#- analyze: fresh statistics for the plans of the models that read this one (autovacuum comes
    too late for them). -#}
{{
    config(
        materialized='incremental',
        unique_key=['day'],
        incremental_strategy='delete+insert',
        pre_hook='{{ delete_rebuilt_days() }}',
        post_hook='analyze {{ this }}',
        indexes=[{'columns': ['day']}, {'columns': ['max_post_id']}],
    )
}}
-- Posts per source, platform, language, city ('unknown' when not in the gazetteer) and day, with
-- how many have a sentiment and a hate-speech classification: the additive base of
-- mart_source_coverage, so that mart never re-reads the posts. Incremental per day: a day is
-- recomputed whole when int_posts__enriched holds a post newer than any seen here, and every day
-- when the model versions changed (as int_city_area_days__summed does per city and day), and
-- the days of var rebuild_days (after an erasure; macros/incremental_days.sql).
with current_key as (
    select {{ versions_key('f') }} as versions_key
    from {{ ref('int_posts__enriched') }} as f
    order by f.post_id desc
    limit 1
),

{% if is_incremental() %}
    affected_days as materialized (
        select distinct n.day
        from {{ ref('int_posts__enriched') }} as n
        {% if not versions_changed(ref('int_posts__enriched')) -%}
            where n.post_id > {{ incremental_watermark('max_post_id') }}
        {%- endif %}
        {% if var('rebuild_days', []) -%}
            union
            select r.day from (values {{ rebuild_days_values() }}) as r (day)
        {%- endif %}
    ),

{% endif %}
posts as (
    select
        f.post_id,
        f.source,
        f.platform,
        f.lang,
        coalesce(f.city_code, 'unknown') as city_code,
        f.day,
        f.sentiment,
        f.is_hate
    from {{ ref('int_posts__enriched') }} as f
    {% if is_incremental() %}
        where f.day in (select a.day from affected_days as a)
    {% endif %}
)

select
    p.source,
    p.platform,
    p.lang,
    p.city_code,
    p.day,
    count(*) as posts,
    count(p.sentiment) as sentiment_posts,
    count(p.is_hate) as hate_classified_posts,
    max(p.post_id) as max_post_id,
    max(k.versions_key) as versions_key
from posts as p
cross join current_key as k
group by p.source, p.platform, p.lang, p.city_code, p.day
