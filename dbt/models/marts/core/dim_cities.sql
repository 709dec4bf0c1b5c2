-- Cities by Urban Audit code: the project's gazetteer (dbt/seeds/cities.csv; codes, names,
-- coordinates and population agree with Eurostat's Urban Audit gazetteer), plus the Urban Audit
-- cities loaded from GISCO when online (int_cities__reconciled; offline it is the seed). Names,
-- exonyms, hashtags and slang tags are `|`-separated lists, as analysts edit them in the seed.
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
    demonyms,
    hashtags,
    slang_tags,
    reference_source
from {{ ref('int_cities__reconciled') }}
