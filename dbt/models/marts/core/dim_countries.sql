-- Countries by Eurostat code (EL for Greece, UK for the United Kingdom), with ISO codes for
-- joining other sources, and the number of cities of the gazetteer in each.
with city_counts as (
    select
        country_code,
        count(*) as cities
    from {{ ref('cities') }}
    group by country_code
)

select
    c.country_code,
    c.iso2,
    c.iso3,
    c.name_en as country_name,
    c.native_name,
    c.country_group,
    c.eu_member,
    c.aliases,
    coalesce(cc.cities, 0) as cities
from {{ ref('countries') }} as c
left join city_counts as cc on c.country_code = cc.country_code
