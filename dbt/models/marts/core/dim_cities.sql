-- Cities by Urban Audit code: the project's gazetteer (dbt/seeds/cities.csv; codes, names,
-- coordinates and population agree with Eurostat's Urban Audit gazetteer). Names, exonyms,
-- hashtags and slang tags are `|`-separated lists, as analysts edit them in the seed.
select
    city_code,
    city_name,
    native_name,
    country_code,
    nuts2_code,
    nuts3_code,
    lat,
    lon,
    population,
    languages,
    other_names,
    hashtags,
    slang_tags
from {{ ref('cities') }}
