{#- The model versions a post-level row carries (language, areas, sentiment, hate, keywords,
    cities),
    and how an incremental post-level model (int_posts__enriched, fct_posts) finds its stored
    rows built with other versions than the current ones. Every run leaves each stored version
    either null (not classified yet) or equal to the version current at that run (stale rows are
    re-done in the same transaction). -#}

{#- A row some model has not classified yet (a null version). -#}
{% macro post_unversioned() -%}
    lang_model_version is null
    or area_model_version is null
    or sentiment_model_version is null
    or hate_model_version is null
    or keyword_model_version is null
    or city_model_version is null
{%- endmacro %}

{#- Stored row `t` was built with other versions than the current ones `v`. -#}
{% macro post_versions_differ(t, v) -%}
    {{ t }}.lang_model_version is distinct from {{ v }}.lang_model_version
    or {{ t }}.area_model_version is distinct from {{ v }}.area_model_version
    or {{ t }}.sentiment_model_version is distinct from {{ v }}.sentiment_model_version
    or {{ t }}.hate_model_version is distinct from {{ v }}.hate_model_version
    or {{ t }}.keyword_model_version is distinct from {{ v }}.keyword_model_version
    or {{ t }}.city_model_version is distinct from {{ v }}.city_model_version
{%- endmacro %}

{#- One row: the current version of each task, from `model_versions` (stg_ml__model_versions). -#}
{% macro post_current_versions(model_versions) -%}
    select
        max(case when task = 'language' then model_version end) as lang_model_version,
        max(case when task = 'areas' then model_version end) as area_model_version,
        max(case when task = 'sentiment' then model_version end) as sentiment_model_version,
        max(case when task = 'hate' then model_version end) as hate_model_version,
        max(case when task = 'keywords' then model_version end) as keyword_model_version,
        max(case when task = 'cities' then model_version end) as city_model_version
    from {{ model_versions }}
    where is_current
{%- endmacro %}

{#- Whether the incremental table may hold stale rows, asked while compiling (false on a full
    build). Answered without reading the table: by the invariant above, rows may be stale only
    if some row has a null version (the partial index of `post_unversioned_index`) or if any one
    row's versions differ from the current ones. A "yes" only adds the re-do branch, whose own
    condition is the exact one. -#}
{% macro post_may_be_stale(model_versions) -%}
    {{- return(incremental_exists(
        'select 1 from ' ~ this ~ ' as t where ' ~ post_unversioned()
        ~ ' union all select 1 from (select * from ' ~ this ~ ' limit 1) as t cross join ('
        ~ post_current_versions(model_versions) ~ ') as v where ' ~ post_versions_differ('t', 'v')
    )) -}}
{%- endmacro %}

{#- Post-hook: a partial index of the rows some model has not classified yet (kept tiny; it
    answers `post_may_be_stale` by index), created once per build of the table. -#}
{% macro post_unversioned_index() -%}
    do $$ begin if not exists (select 1 from pg_indexes where schemaname = '{{ this.schema }}'
    and tablename = '{{ this.identifier }}' and indexdef like '% WHERE %') then
    create index on {{ this }} (post_id) where {{ post_unversioned() }}; end if; end $$
{%- endmacro %}
