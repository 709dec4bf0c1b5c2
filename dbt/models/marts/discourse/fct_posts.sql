{#- Post-hook: a partial index of the rows some model has not classified yet (answers the stale
    check by index). No other index than the key and no analyze: no model reads this table, only
    the quality gate and publication, which read it whole. -#}
{{
    config(
        materialized='incremental',
        unique_key='post_id',
        incremental_strategy='delete+insert',
        post_hook=['{{ post_unversioned_index() }}'],
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['post_id'], 'unique': True}],
    )
}}
-- One row per post and current model-version set (language, areas, sentiment, hate, keywords,
-- cities): int_posts__enriched as published; `city_code` is the source's city, `city_codes`
-- every city the post counts for (its rows in int_post_cities__attributed). Post-level detail:
-- published only to the detail role (published_detail), never to BI.
-- Incremental like int_posts__enriched, from it: a run copies the posts above this table's
-- highest post id, and the stored rows whose versions differ from the current ones - exactly
-- the rows int_posts__enriched has just re-done, since both tables held the same rows before.
{%- set watermark = incremental_watermark('post_id') -%}
{%- set has_stale = post_may_be_stale(ref('stg_ml__model_versions')) -%}
{%- set redo = ' or p.post_id in (select s.post_id from stale as s)' if has_stale else '' %}
{% if has_stale %}
    with current_versions as materialized (
        {{ post_current_versions(ref('stg_ml__model_versions')) }}
    ),

    stale as materialized (  -- noqa: ST03
        select t.post_id
        from {{ this }} as t
        cross join current_versions as v
        where {{ post_versions_differ('t', 'v') }}
    )

{% endif %}
select
    p.post_id,
    p.day,
    p.week,
    p.month,
    p.created_at,
    p.city_code,
    p.city_codes,
    p.country_code,
    p.source,
    p.platform,
    p.lang,
    p.lang_confidence,
    p.areas,
    p.area_count,
    p.sentiment,
    p.polarity,
    p.is_hate,
    p.hate_probability,
    p.keywords,
    p.lang_model_version,
    p.area_model_version,
    p.sentiment_model_version,
    p.hate_model_version,
    p.keyword_model_version,
    p.city_model_version
from {{ ref('int_posts__enriched') }} as p
{% if is_incremental() %}
    where
        p.post_id > {{ watermark }}{{ redo }}
{% endif %}
