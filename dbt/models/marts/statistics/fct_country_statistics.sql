-- Long fact: country x indicator x period, with unit and flag. Sources: Eurostat country
-- tables (migration, labour market by citizenship) and MIPEX policy scores (one indicator per
-- strand, period = edition). Aggregates (EU27_2020, EA20) are not countries and stay out.
with observations as (
    select
        {{ statistics_fact_columns('country_code') }},
        false as sources_disagree
    from {{ ref('stg_statistics__eurostat_observations') }}
    union all
    select
        country_code,
        'mipex_' || strand as indicator,
        'MIPEX ' || replace(strand, '_', ' ') || ' score (0-100)' as indicator_label,
        cast(edition as text) as period,
        make_date(edition, 1, 1) as period_start,
        'A' as frequency,
        score as value,  -- noqa: RF04
        'SCORE' as unit,
        null as flag,
        false as is_confidential,
        source,
        'mipex' as provider,  -- noqa: RF04
        source_file as dataset,
        fetched_at,
        1 as versions,
        sources_disagree
    from {{ ref('stg_statistics__mipex_scores') }}
)

select
    o.country_code,
    c.country_name,
    c.country_group,
    o.indicator,
    o.indicator_label,
    o.period,
    o.period_start,
    o.frequency,
    o.value,
    o.unit,
    o.flag,
    o.is_confidential,
    o.sources_disagree,
    o.source,
    o.provider,
    o.dataset,
    o.fetched_at,
    o.versions
from observations as o
inner join {{ ref('dim_countries') }} as c on o.country_code = c.country_code
