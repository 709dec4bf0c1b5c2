{#- Incremental aggregates over fct_posts, recomputed per (city, day) cell.

    A cell is recomputed when fct_posts holds a post newer than the highest post id the
    aggregate has seen (`max_post_id`), or when the aggregate was built with other model versions
    (`versions_key`) than the current ones, in which case everything is recomputed. Each cell is
    replaced as a whole (delete+insert on city_code, day), so re-running gives identical rows. -#}
{% macro versions_key(alias) -%}
    concat_ws(
        '|',
        {{ alias }}.lang_model_version,
        {{ alias }}.area_model_version,
        {{ alias }}.sentiment_model_version,
        {{ alias }}.hate_model_version,
        {{ alias }}.keyword_model_version
    )
{%- endmacro %}

{% macro affected_cells_filter(alias) -%}
    {% if is_incremental() %}
        and ({{ alias }}.city_code, {{ alias }}.day) in (
            select a.city_code, a.day from affected_cells as a
        )
    {% endif %}
{%- endmacro %}

{% macro current_key_cte() -%}
    current_key as (
        select {{ versions_key('f') }} as versions_key
        from {{ ref('fct_posts') }} as f
        order by f.post_id desc
        limit 1
    )
    {%- if is_incremental() %},

    affected_cells as materialized (
        select distinct
            n.city_code,
            n.day
        from {{ ref('fct_posts') }} as n
        where
            n.city_code is not null
            and (
                n.post_id > (select coalesce(max(t.max_post_id), 0) from {{ this }} as t)
                or exists (
                    select 1
                    from {{ this }} as t
                    where t.versions_key <> (select max(v.versions_key) from current_key as v)
                )
            )
    )
    {%- endif %}
{%- endmacro %}
