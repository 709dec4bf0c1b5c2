-- Urban Audit cities of one GISCO release, as landed (empty until the loader has run online).
select
    city_code,
    city_name,
    country_code,
    nuts3_code,
    is_capital,
    fua_code,
    area_sqm,
    lat,
    lon,
    release_year,
    source_url,
    run_id,
    loaded_at
from {{ source('statistics', 'gisco_cities') }}
