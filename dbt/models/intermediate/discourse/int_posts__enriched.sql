{#- Post-hooks: a partial index of the rows some model has not classified yet (answers the stale
    check by index); analyze: fresh statistics for the plans of the models that read this one
    (autovacuum comes too late for them). -#}
{{
    config(
        materialized='incremental',
        unique_key='post_id',
        incremental_strategy='delete+insert',
        post_hook=['{{ post_unversioned_index() }}', 'analyze {{ this }}'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['post_id'], 'unique': True},
            {'columns': ['city_code', 'day']},
            {'columns': ['day']},
        ],
    )
}}
-- One row per post and current model-version set (language, areas, sentiment, hate, keywords,
-- cities): the post-level base of the discourse, keyword and coverage aggregates, and of
-- fct_posts. `city_code` is the source's city (its city hint, when the gazetteer knows it);
-- `city_codes` every city the post is attributed to: the cities the current cities model found
-- in it (ml.post_cities) plus the source's city (int_post_cities__attributed, docs/marts.md).
-- Incremental: a run processes posts newer than the table's highest post id, plus posts whose
-- stored model versions differ from the current ones (re-classified, or classified after their
-- first build). Every column is a function of the post and the current versions, so a rebuild
-- and any sequence of incremental runs give the same rows.
{#- Incremental runs do the posts above the watermark (the highest post id stored; a literal, so
    PostgreSQL reads them by index and plans for their number) and the stored rows whose versions
    differ from the current ones. Whether there may be any of those is asked first
    (post_may_be_stale): in the usual case there are none and the re-do branch is left out of
    the query, which then plans for the new posts only; with it, the planner must assume a
    whole table's worth. -#}
{%- set watermark = incremental_watermark('post_id') -%}
{%- set has_stale = post_may_be_stale(ref('stg_ml__model_versions')) -%}
{%- set redo = ' or @.post_id in (select s.post_id from stale as s)' if has_stale else '' %}
with current_versions as materialized (
    {{ post_current_versions(ref('stg_ml__model_versions')) }}
),

{% if has_stale %}
    stale as materialized (  -- noqa: ST03
        select t.post_id
        from {{ this }} as t
        cross join current_versions as v
        where {{ post_versions_differ('t', 'v') }}
    ),

{% endif %}
-- Each input is restricted to the posts to do on its own (not by joining the posts below), so
-- a full refresh aggregates the ml tables in one pass each and an incremental run by index.
-- The aggregates are materialized: computed once, not once per parallel worker of the join.
posts as (
    select p.*
    from {{ ref('int_posts__classified') }} as p
    {% if is_incremental() %}
        where
            p.post_id > {{ watermark }}{{ redo | replace('@', 'p') }}
    {% endif %}
),

areas as materialized (
    select
        a.post_id,
        array_agg(a.area_id order by a.area_id) as areas
    from {{ ref('stg_ml__post_areas') }} as a
    {% if is_incremental() %}
        where
            a.post_id > {{ watermark }}{{ redo | replace('@', 'a') }}
    {% endif %}
    group by a.post_id
),

keywords as materialized (
    select
        k.post_id,
        array_agg(distinct k.keyword order by k.keyword) as keywords
    from {{ ref('stg_ml__post_keywords') }} as k
    {% if is_incremental() %}
        where
            k.post_id > {{ watermark }}{{ redo | replace('@', 'k') }}
    {% endif %}
    group by k.post_id
),

cities as materialized (
    select
        c.post_id,
        array_agg(distinct c.city_code order by c.city_code) as city_codes
    from {{ ref('stg_ml__post_cities') }} as c
    inner join {{ ref('int_cities__reconciled') }} as g on c.city_code = g.city_code
    {% if is_incremental() %}
        where
            c.post_id > {{ watermark }}{{ redo | replace('@', 'c') }}
    {% endif %}
    group by c.post_id
)

select
    p.post_id,
    p.created_day as day,
    cast(date_trunc('week', p.created_day) as date) as week,  -- noqa: RF04
    cast(date_trunc('month', p.created_day) as date) as month,  -- noqa: RF04
    p.created_at,
    p.city_code,
    array(
        select distinct u.city_code
        from
            unnest(coalesce(ci.city_codes, cast(array[] as text[])) || p.city_code)
                as u (city_code)
        where u.city_code is not null
        order by u.city_code
    ) as city_codes,
    p.country_code,
    p.source,
    p.platform,
    p.lang,
    p.lang_confidence,
    coalesce(a.areas, cast(array[] as text[])) as areas,
    coalesce(cardinality(a.areas), 0) as area_count,
    p.sentiment,
    p.polarity,
    p.is_hate,
    p.hate_probability,
    k.keywords,
    p.lang_model_version,
    case
        when a.post_id is not null or ca.post_id is not null then v.area_model_version
    end as area_model_version,
    p.sentiment_model_version,
    p.hate_model_version,
    case
        when k.post_id is not null or ck.post_id is not null then v.keyword_model_version
    end as keyword_model_version,
    case
        when ci.post_id is not null or cc.post_id is not null then v.city_model_version
    end as city_model_version
from posts as p
cross join current_versions as v
left join areas as a on p.post_id = a.post_id
left join keywords as k on p.post_id = k.post_id
left join cities as ci on p.post_id = ci.post_id
-- A post the area (keyword) model looked at and found nothing in is still "classified"; the
-- primary key (task, model_version, post_id) makes these joins match at most once.
left join {{ ref('stg_ml__classified_posts') }} as ca
    on
        ca.task = 'areas'
        and v.area_model_version = ca.model_version
        and p.post_id = ca.post_id
left join {{ ref('stg_ml__classified_posts') }} as ck
    on
        ck.task = 'keywords'
        and v.keyword_model_version = ck.model_version
        and p.post_id = ck.post_id
left join {{ ref('stg_ml__classified_posts') }} as cc
    on
        cc.task = 'cities'
        and v.city_model_version = cc.model_version
        and p.post_id = cc.post_id
