-- Official statistics per city, period and indicator from statistics files (the demo's
-- synthetic file, landed by the statistics file importer).
select
    source,
    city_code,
    period,
    indicator,
    value,
    unit,
    flag,
    fetched_at
from {{ source('statistics', 'official_statistics') }}
