-- Long fact: city x indicator x period, with unit and flag, for the cities of the gazetteer.
-- Sources: Eurostat Urban Audit tables (geography = Urban Audit city code), national
-- statistics offices (PxWeb, region codes mapped to city codes) and statistics files (the
-- demo's synthetic file). Each row keeps its source, so figures never mix without saying so.
with observations as (
    select {{ statistics_fact_columns('city_code') }}
    from {{ ref('stg_statistics__eurostat_observations') }}
    union all
    select {{ statistics_fact_columns('city_code') }}
    from {{ ref('stg_statistics__pxweb_observations') }}
    union all
    select
        city_code,
        indicator,
        null as indicator_label,
        period,
        make_date(cast(left(period, 4) as integer), 1, 1) as period_start,
        'A' as frequency,
        value,
        unit,
        nullif(flag, '') as flag,
        false as is_confidential,
        source,
        'statistics_file' as provider,  -- noqa: RF04
        source as dataset,
        fetched_at,
        1 as versions
    from {{ ref('stg_statistics__official_statistics') }}
)

select
    o.city_code,
    c.city_name,
    c.country_code,
    o.indicator,
    o.indicator_label,
    o.period,
    o.period_start,
    o.frequency,
    o.value,
    o.unit,
    o.flag,
    o.is_confidential,
    o.source,
    o.provider,
    o.dataset,
    o.fetched_at,
    o.versions
from observations as o
inner join {{ ref('dim_cities') }} as c on o.city_code = c.city_code
