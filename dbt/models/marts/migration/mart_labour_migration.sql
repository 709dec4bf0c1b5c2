-- Labour-migration monitoring: first residence permits (Eurostat migr_resfirst) by reason per
-- country and year, each reason's share of all first permits, the change on the previous year
-- and a three-year trend (least-squares slope of permits per year over the year and the two
-- before it). Reason codes: OCC remunerated activities (employment), FAM family, EDUC
-- education, OTH other, TOTAL all.
with permits as (
    select
        s.country_code,
        s.country_name,
        cast(left(s.period, 4) as integer) as year,  -- noqa: RF04
        split_part(s.indicator, '.', 2) as reason,
        s.value,
        s.flag
    from {{ ref('fct_country_statistics') }} as s
    where
        s.dataset = 'migr_resfirst'
        and s.frequency = 'A'
        and s.indicator like 'migr_resfirst.%'
),

pivot as (
    select
        p.country_code,
        p.country_name,
        p.year,
        max(p.value) filter (where p.reason = 'TOTAL') as permits_total,
        max(p.value) filter (where p.reason = 'OCC') as permits_employment,
        max(p.value) filter (where p.reason = 'FAM') as permits_family,
        max(p.value) filter (where p.reason = 'EDUC') as permits_education,
        max(p.value) filter (where p.reason = 'OTH') as permits_other,
        string_agg(distinct nullif(p.flag, ''), '') as flags
    from permits as p
    group by p.country_code, p.country_name, p.year
)

select
    p.country_code,
    p.country_name,
    p.year,
    p.permits_total,
    p.permits_employment,
    p.permits_family,
    p.permits_education,
    p.permits_other,
    p.permits_employment / nullif(p.permits_total, 0) as employment_share,
    p.permits_family / nullif(p.permits_total, 0) as family_share,
    p.permits_education / nullif(p.permits_total, 0) as education_share,
    p.permits_employment - lag(p.permits_employment) over w as employment_change,
    p.permits_employment / nullif(lag(p.permits_employment) over w, 0) - 1
        as employment_change_rate,
    p.permits_total / nullif(lag(p.permits_total) over w, 0) - 1 as total_change_rate,
    regr_slope(p.permits_employment, p.year) over w3 as employment_trend_3y,
    regr_slope(p.permits_total, p.year) over w3 as total_trend_3y,
    p.flags
from pivot as p
window
    w as (partition by p.country_code order by p.year),
    w3 as (partition by p.country_code order by p.year range between 2 preceding and current row)
