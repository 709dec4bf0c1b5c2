select
    source,
    city_code,
    period,
    indicator,
    value,
    unit,
    flag,
    fetched_at
from {{ source('raw', 'official_statistics') }}
