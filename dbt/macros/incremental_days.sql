{#- Incremental aggregates over the post-level model (int_posts__enriched), recomputed per
    (city, day) cell. The calling model passes that model in as `posts`, so its ref() is
    written in the model's own SQL.

    A cell is recomputed when `posts` holds a post newer than the highest post id the aggregate
    has seen (`max_post_id`), or when the aggregate was built with other model versions
    (`versions_key`) than the current ones, in which case everything is recomputed. Each cell is
    replaced as a whole (delete+insert on city_code, day), so re-running gives identical rows.

    After an erasure the posts of some cells are gone, which no watermark can see: the vars
    `rebuild_cells` ([[city_code, 'YYYY-MM-DD'], ...]) and `rebuild_days` (['YYYY-MM-DD', ...])
    name the cells and days to recompute as well, and the pre-hooks `delete_rebuilt_cells` /
    `delete_rebuilt_days` empty them first, so a cell left without posts disappears
    (monitor.lifecycle passes them; docs/privacy.md, "Erasure"). -#}
{% macro rebuild_cells_values() -%}
    {%- for c in var('rebuild_cells', []) -%}
        ('{{ c[0] | replace("'", "''") }}', cast('{{ c[1] | replace("'", "''") }}' as date))
        {{- ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro rebuild_days_values() -%}
    {%- for d in var('rebuild_days', []) -%}
        (cast('{{ d | replace("'", "''") }}' as date)){{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro delete_rebuilt_cells() -%}
    {%- if is_incremental() and var('rebuild_cells', []) -%}
        delete from {{ this }} where (city_code, day) in (values {{ rebuild_cells_values() }})
    {%- endif -%}
{%- endmacro %}

{% macro delete_rebuilt_days() -%}
    {%- if is_incremental() and var('rebuild_days', []) -%}
        delete from {{ this }} where day in (values {{ rebuild_days_values() }})
    {%- endif -%}
{%- endmacro %}
{% macro versions_key(alias) -%}
    concat_ws(
        '|',
        {{ alias }}.lang_model_version,
        {{ alias }}.area_model_version,
        {{ alias }}.sentiment_model_version,
        {{ alias }}.hate_model_version,
        {{ alias }}.keyword_model_version,
        {{ alias }}.city_model_version
    )
{%- endmacro %}

{% macro affected_cells_filter(alias) -%}
    {% if is_incremental() %}
        and ({{ alias }}.city_code, {{ alias }}.day) in (
            select a.city_code, a.day from affected_cells as a
        )
    {% endif %}
{%- endmacro %}

{% macro current_key_cte(posts) -%}
    current_key as materialized (
        select {{ versions_key('f') }} as versions_key
        from {{ posts }} as f
        order by f.post_id desc
        limit 1
    )
    {%- if is_incremental() %},

    {%- set changed = versions_changed(posts) %}

    affected_cells as materialized (
        -- Cells of the posts above the watermark (a literal: read by index, planned for their
        -- number), or every cell when the versions changed (asked while compiling, so the
        -- usual query has no branch the planner would have to assume a whole table for).
        select distinct
            n.city_code,
            n.day
        from {{ posts }} as n
        where
            n.city_code is not null
            {% if not changed -%}
                and n.post_id > {{ incremental_watermark('max_post_id') }}
            {%- endif %}
        {% if var('rebuild_cells', []) -%}
            union
            select
                r.city_code,
                r.day
            from (values {{ rebuild_cells_values() }}) as r (city_code, day)
        {%- endif %}
    )
    {%- endif %}
{%- endmacro %}

{% macro versions_changed(posts) -%}
    {#- Whether the incremental table was built with other model versions than those of the
        newest post of `posts` (then everything is recomputed). One row tells: a run with
        changed versions recomputes every cell, so all rows always share one versions_key. -#}
    {{- return(incremental_exists(
        'select 1 from (select versions_key from ' ~ this ~ ' limit 1) as t where t.versions_key'
        ~ ' <> (select ' ~ versions_key('f') ~ ' from ' ~ posts
        ~ ' as f order by f.post_id desc limit 1)'
    )) -}}
{%- endmacro %}

{% macro incremental_watermark(column) -%}
    {#- The highest `column` of the existing incremental table, rendered as a literal: the
        planner then estimates "newer than the watermark" from the index bounds (a few rows)
        instead of a third of the table, and reads only the new rows, by index. -#}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query('select coalesce(max(' ~ column ~ '), 0) from ' ~ this) -%}
        {{- result.columns[0].values()[0] -}}
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}

{% macro incremental_exists(query) -%}
    {#- Whether `query` returns a row, asked while compiling an incremental run (false
        otherwise). -#}
    {%- if execute and is_incremental() -%}
        {{- return(run_query('select exists (' ~ query ~ ')').columns[0].values()[0]) -}}
    {%- else -%}
        {{- return(false) -}}
    {%- endif -%}
{%- endmacro %}
