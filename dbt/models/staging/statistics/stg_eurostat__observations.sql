-- Latest version of each Eurostat observation (API fetches and downloaded Eurostat files).
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
where is_latest and provider in ('eurostat', 'eurostat_file')
