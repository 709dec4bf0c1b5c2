-- Long fact: city x indicator x period, with unit and flag, for cities in the gazetteer.
select
    s.city_code,
    c.city_name,
    c.country_code,
    s.indicator,
    s.period,
    s.value,
    s.unit,
    s.flag,
    s.source
from {{ ref('stg_demo__official_statistics') }} as s
inner join {{ ref('dim_cities') }} as c on s.city_code = c.city_code
