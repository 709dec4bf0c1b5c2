{# The statistics models read the same observation columns in several places: the latest
   version of each cell per provider (staging) and the long facts built on them (marts). #}

{# Latest live version of each observation of the given providers: a cell whose latest version
   is a tombstone (Eurostat withdrew it) is not shown; its history stays in
   stg_statistics__observation_versions. #}
{% macro latest_statistics_observations(providers) %}
select
    provider,
    dataset,
    source,
    series_key,
    period,
    period_start,
    frequency,
    geo_code,
    geo_label,
    indicator,
    indicator_label,
    unit,
    unit_label,
    value,
    flags,
    is_confidential,
    status_raw,
    fetched_at,
    version_number as versions
from {{ ref('stg_statistics__observation_versions') }}
where
    is_latest
    and not is_deleted
    and provider in ({% for p in providers %}'{{ p }}'{% if not loop.last %}, {% endif %}{% endfor %})
{% endmacro %}

{# The fact columns of a latest-observations model, its geo_code named for the fact's grain
   (city_code or country_code). #}
{% macro statistics_fact_columns(geo_column) %}
    geo_code as {{ geo_column }},
    indicator,
    indicator_label,
    period,
    period_start,
    frequency,
    value,
    unit,
    flags as flag,
    is_confidential,
    source,
    provider,
    dataset,
    fetched_at,
    versions
{% endmacro %}
