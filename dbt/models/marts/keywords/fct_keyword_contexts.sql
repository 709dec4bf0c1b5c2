{#- analyze: fresh statistics for the plans of the models that read this one (autovacuum comes
    too late for them). -#}
{{
    config(
        materialized='incremental',
        unique_key=['city_code', 'day'],
        incremental_strategy='delete+insert',
        pre_hook='{{ delete_rebuilt_cells() }}',
        post_hook='analyze {{ this }}',
        indexes=[{'columns': ['city_code', 'day', 'keyword']}, {'columns': ['max_post_id']}],
    )
}}
-- Keyword-in-context samples: up to `kwic_samples` windows of scrubbed text per city, day and
-- term (a post counts for each city it is attributed to), the earliest posts first
-- (deterministic). Contains post text: detail role only, never
-- published to BI.
with {{ current_key_cte(ref('int_post_cities__attributed')) }},

ranked as (
    -- Ranked without the context text: the sort over all mentions stays narrow, and only the
    -- kept samples fetch their text below, one primary-key lookup each.
    select
        f.city_code,
        f.day,
        k.keyword,
        k.kind,
        k.label,
        k.post_id,
        k.model_version,
        k.position,
        row_number() over (
            partition by f.city_code, f.day, k.keyword
            order by k.post_id, k.position, k.label
        ) as sample_rank
    from {{ ref('stg_ml__post_keywords') }} as k
    inner join {{ ref('int_post_cities__attributed') }} as f on k.post_id = f.post_id
    where
        f.city_code is not null
        {{ affected_cells_filter('f') }}
),

contexts as (
    select
        r.*,
        (
            select t.context
            from {{ ref('stg_ml__post_keyword_contexts') }} as t
            where
                r.post_id = t.post_id
                and r.model_version = t.model_version
                and r.position = t.position
                and r.keyword = t.keyword
                and r.label = t.label
        ) as context
    from ranked as r
    where r.sample_rank <= {{ var('kwic_samples') }}
)

select
    c.city_code,
    c.day,
    c.keyword,
    c.kind,
    c.label,
    c.sample_rank,
    c.post_id,
    c.position,
    c.context,
    max(c.post_id) over (partition by c.city_code, c.day) as max_post_id,
    k.versions_key
from contexts as c
cross join current_key as k
