{#- A table: small, and read by the post-level models (a join per post), as dim_cities was. -#}
{{ config(materialized='table') }}
-- The cities the platform knows: the project's seed (dbt/seeds/cities.csv), reconciled with the
-- Urban Audit cities loaded from GISCO when online (stg_statistics__gisco_cities: empty
-- offline, and then this is exactly the seed). The seed wins on names, exonyms, tags,
-- coordinates and population; GISCO fills the NUTS codes the seed lacks and adds the cities the
-- seed does not have, with their native name, country, NUTS 3 region, label point and the latest
-- Eurostat population (urb_cpop1) when it has been fetched. Added cities are kept to the
-- countries of the countries seed and to the map's extent (outermost regions such as Réunion are
-- left out).
with seed as (
    select * from {{ ref('cities') }}
),

gisco as (
    select * from {{ ref('stg_statistics__gisco_cities') }}
),

latest_population as (
    select distinct on (geo_code)
        geo_code as city_code,
        value as population
    from {{ ref('stg_statistics__eurostat_observations') }}
    where
        indicator = 'population'
        and value is not null
        and frequency = 'A'
    order by geo_code asc, period_start desc
),

added as (
    select g.*
    from gisco as g
    inner join {{ ref('countries') }} as c on g.country_code = c.country_code
    left join seed as s on g.city_code = s.city_code
    where
        s.city_code is null
        and g.lat between 27 and 72
        and g.lon between -32 and 45
)

select
    s.city_code,
    s.city_name,
    s.native_name,
    s.country_code,
    coalesce(nullif(s.nuts2_code, ''), left(g.nuts3_code, 4)) as nuts2_code,
    coalesce(nullif(s.nuts3_code, ''), g.nuts3_code) as nuts3_code,
    s.lat,
    s.lon,
    s.population,
    s.languages,
    s.other_names,
    s.demonyms,
    s.hashtags,
    s.slang_tags,
    g.nuts3_code as gisco_nuts3_code,
    g.is_capital,
    g.fua_code,
    case when g.city_code is null then 'seed' else 'seed+gisco' end as reference_source
from seed as s
left join gisco as g on s.city_code = g.city_code
union all
select
    a.city_code,
    a.city_name,
    a.city_name as native_name,
    a.country_code,
    left(a.nuts3_code, 4) as nuts2_code,
    a.nuts3_code,
    a.lat,
    a.lon,
    cast(p.population as bigint) as population,
    null as languages,
    null as other_names,
    null as demonyms,
    null as hashtags,
    null as slang_tags,
    a.nuts3_code as gisco_nuts3_code,
    a.is_capital,
    a.fua_code,
    'gisco' as reference_source
from added as a
left join latest_population as p on a.city_code = p.city_code
