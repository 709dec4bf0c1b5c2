-- Every fetch of a statistics dataset: when it happened and what it brought.
select
    fetch_id,
    run_id,
    provider,
    dataset,
    provider || ':' || dataset as source,  -- noqa: RF04
    request,
    data_format,
    content_hash,
    source_updated_at,
    fetched_at,
    observations,
    new_series,
    revised,
    unchanged,
    rejected
from {{ source('statistics', 'statistics_fetches') }}
