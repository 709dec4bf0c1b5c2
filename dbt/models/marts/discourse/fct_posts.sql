{#- Post-hooks: a partial index of the rows some model has not classified yet (kept tiny; it
    answers the stale check below by index), created once per build of the table; analyze:
    fresh statistics for the plans of the models that read this one (autovacuum comes too late
    for them). -#}
{%- set unversioned -%}
    lang_model_version is null
    or area_model_version is null
    or sentiment_model_version is null
    or hate_model_version is null
    or keyword_model_version is null
{%- endset -%}
{{
    config(
        materialized='incremental',
        unique_key='post_id',
        incremental_strategy='delete+insert',
        post_hook=[
            "do $$ begin if not exists (select 1 from pg_indexes where schemaname = '{{ this.schema }}'"
            ~ " and tablename = '{{ this.identifier }}' and indexdef like '% WHERE %') then"
            ~ " create index on {{ this }} (post_id) where " ~ unversioned ~ "; end if; end $$",
            'analyze {{ this }}',
        ],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['post_id'], 'unique': True},
            {'columns': ['city_code', 'day']},
            {'columns': ['day']},
        ],
    )
}}
-- One row per post and current model-version set (language, areas, sentiment, hate, keywords).
-- Post-level detail: published only to the detail role (published_detail), never to BI.
-- Incremental: a run processes posts newer than the table's highest post id, plus posts whose
-- stored model versions differ from the current ones (re-classified, or classified after their
-- first build). Every column is a function of the post and the current versions, so a rebuild
-- and any sequence of incremental runs give the same rows.
{%- set stale_versions -%}
    t.lang_model_version is distinct from v.lang_model_version
    or t.area_model_version is distinct from v.area_model_version
    or t.sentiment_model_version is distinct from v.sentiment_model_version
    or t.hate_model_version is distinct from v.hate_model_version
    or t.keyword_model_version is distinct from v.keyword_model_version
{%- endset -%}
{%- set current_versions -%}
    select
        max(case when task = 'language' then model_version end) as lang_model_version,
        max(case when task = 'areas' then model_version end) as area_model_version,
        max(case when task = 'sentiment' then model_version end) as sentiment_model_version,
        max(case when task = 'hate' then model_version end) as hate_model_version,
        max(case when task = 'keywords' then model_version end) as keyword_model_version
    from {{ source('ml', 'model_versions') }}
    where is_current
{%- endset -%}
{#- Incremental runs do the posts above the watermark (the highest post id stored; a literal, so
    PostgreSQL reads them by index and plans for their number) and the stored rows whose versions
    differ from the current ones. Whether there may be any of those is asked first: in the usual
    case there are none and the re-do branch is left out of the query, which then plans for the
    new posts only; with it, the planner must assume a whole table's worth.
    The question is answered without reading the table: every run leaves each stored version
    either null (not classified yet) or equal to the version current at that run (stale rows
    are re-done in the same transaction), so rows may be stale only if some row has a null
    version (the partial index) or if any one row's versions differ from the current ones. A
    "yes" only adds the re-do branch, whose own condition is the exact one. -#}
{%- set watermark = incremental_watermark('post_id') -%}
{%- set has_stale = incremental_exists(
    'select 1 from ' ~ this ~ ' as t where ' ~ unversioned
    ~ ' union all select 1 from (select * from ' ~ this ~ ' limit 1) as t cross join ('
    ~ current_versions ~ ') as v where ' ~ stale_versions
) -%}
{%- set redo = ' or @.post_id in (select s.post_id from stale as s)' if has_stale else '' %}
with current_versions as materialized (
    {{ current_versions }}
),

{% if has_stale %}
    stale as materialized (  -- noqa: ST03
        select t.post_id
        from {{ this }} as t
        cross join current_versions as v
        where {{ stale_versions }}
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
)

select
    p.post_id,
    p.created_day as day,
    cast(date_trunc('week', p.created_day) as date) as week,  -- noqa: RF04
    cast(date_trunc('month', p.created_day) as date) as month,  -- noqa: RF04
    p.created_at,
    p.city_code,
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
    end as keyword_model_version
from posts as p
cross join current_versions as v
left join areas as a on p.post_id = a.post_id
left join keywords as k on p.post_id = k.post_id
-- A post the area (keyword) model looked at and found nothing in is still "classified"; the
-- primary key (task, model_version, post_id) makes these joins match at most once.
left join {{ source('ml_audit', 'classified_posts') }} as ca
    on
        ca.task = 'areas'
        and v.area_model_version = ca.model_version
        and p.post_id = ca.post_id
left join {{ source('ml_audit', 'classified_posts') }} as ck
    on
        ck.task = 'keywords'
        and v.keyword_model_version = ck.model_version
        and p.post_id = ck.post_id
