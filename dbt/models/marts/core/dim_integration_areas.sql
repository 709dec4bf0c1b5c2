-- The 19 integration areas in 4 dimensions, with how many keywords and
-- languages the taxonomy seed gives each (analysts extend dbt/seeds/area_keywords.csv).
with keywords as (
    select
        area_id,
        count(*) as keywords,
        count(distinct lang) as keyword_languages,
        string_agg(distinct lang, '|' order by lang) as languages
    from {{ ref('area_keywords') }}
    group by area_id
)

select
    a.area_id,
    a.dimension,
    a.label,
    a.description,
    coalesce(k.keywords, 0) as keywords,
    coalesce(k.keyword_languages, 0) as keyword_languages,
    k.languages
from {{ ref('integration_areas') }} as a
left join keywords as k on a.area_id = k.area_id
