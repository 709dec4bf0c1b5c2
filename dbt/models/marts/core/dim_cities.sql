select
    city_code,
    city_name,
    native_name,
    country_code,
    lat,
    lon,
    population,
    languages
from {{ ref('demo_cities') }}
