{# The statistics models read the same observation columns in several places: every version of
   each cell and the latest version per provider (staging), and the long facts built on them
   (marts). The calling model passes the landed observations in as `observations`
   (source('statistics', 'statistics_observations')), so the source() is written in its SQL. #}

{# Every stored version of every observation, oldest first per cell, with its version number,
   the previous value and whether it is the latest version. #}
{% macro statistics_observation_versions(observations) %}
select
    provider,
    dataset,
    provider || ':' || dataset as source,  -- noqa: RF04
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
    nullif(flags, '') as flags,
    confidential as is_confidential,
    deleted as is_deleted,
    status_raw,
    fetched_at,
    fetch_id,
    row_number() over cell_versions as version_number,
    lag(value) over cell_versions as previous_value,
    lead(fetched_at) over cell_versions is null as is_latest
from {{ observations }}
window cell_versions as (
    partition by provider, dataset, series_key, period
    order by fetched_at
)
{% endmacro %}

{# Latest live version of each observation of the given providers: a cell whose latest version
   is a tombstone (Eurostat withdrew it) is not shown; its history stays in
   stg_statistics__observation_versions. #}
{% macro latest_statistics_observations(observations, providers) %}
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
from ({{ statistics_observation_versions(observations) }}) as v
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
