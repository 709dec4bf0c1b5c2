-- Every stored version of every observation (Eurostat, PxWeb), oldest first per cell.
-- A new version exists only when the value, flags or confidentiality changed, so
-- previous_value shows what a revision changed. is_deleted marks a tombstone: the cell was
-- missing from a later answer (it has no value; if the cell comes back, a new version follows).
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
from {{ source('raw_statistics', 'statistics_observations') }}
window cell_versions as (
    partition by provider, dataset, series_key, period
    order by fetched_at
)
