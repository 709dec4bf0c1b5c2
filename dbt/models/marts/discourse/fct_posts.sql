-- depends_on: {{ ref('stg_raw__posts') }}
{{
    config(
        materialized='incremental',
        unique_key='post_id',
        incremental_strategy='delete+insert',
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
with current_versions as (
    select
        max(case when task = 'language' then model_version end) as lang_model_version,
        max(case when task = 'areas' then model_version end) as area_model_version,
        max(case when task = 'sentiment' then model_version end) as sentiment_model_version,
        max(case when task = 'hate' then model_version end) as hate_model_version,
        max(case when task = 'keywords' then model_version end) as keyword_model_version
    from {{ source('ml', 'model_versions') }}
    where is_current
),

{% if is_incremental() %}
    todo as (
        select p.post_id
        from {{ ref('stg_raw__posts') }} as p
        where p.post_id > (select coalesce(max(t.post_id), 0) from {{ this }} as t)
        union
        select t.post_id
        from {{ this }} as t
        cross join current_versions as v
        where
            t.lang_model_version is distinct from v.lang_model_version
            or t.area_model_version is distinct from v.area_model_version
            or t.sentiment_model_version is distinct from v.sentiment_model_version
            or t.hate_model_version is distinct from v.hate_model_version
            or t.keyword_model_version is distinct from v.keyword_model_version
    ),

{% endif %}
posts as (
    select p.*
    from {{ ref('int_posts__classified') }} as p
    {% if is_incremental() %}
        inner join todo as t on p.post_id = t.post_id
    {% endif %}
),

areas as (
    select
        a.post_id,
        array_agg(a.area_id order by a.area_id) as areas
    from {{ ref('stg_ml__post_areas') }} as a
    inner join posts as p on a.post_id = p.post_id
    group by a.post_id
),

keywords as (
    select
        k.post_id,
        array_agg(distinct k.keyword order by k.keyword) as keywords
    from {{ ref('stg_ml__post_keywords') }} as k
    inner join posts as p on k.post_id = p.post_id
    group by k.post_id
),

classified_areas as (
    -- A post the area model looked at and found nothing in is still "classified".
    select distinct c.post_id
    from {{ source('ml_audit', 'classified_posts') }} as c
    inner join posts as p on c.post_id = p.post_id
    inner join current_versions as v
        on c.task = 'areas' and c.model_version = v.area_model_version
),

classified_keywords as (
    select distinct c.post_id
    from {{ source('ml_audit', 'classified_posts') }} as c
    inner join posts as p on c.post_id = p.post_id
    inner join current_versions as v
        on c.task = 'keywords' and c.model_version = v.keyword_model_version
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
left join classified_areas as ca on p.post_id = ca.post_id
left join classified_keywords as ck on p.post_id = ck.post_id
