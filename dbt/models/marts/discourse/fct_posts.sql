-- One row per post (current model versions). Detail: never published to roles without detail
-- access; aggregates are built from it.
select
    p.post_id,
    p.created_day as day,
    p.created_at,
    p.city_code,
    p.country_code,
    p.source,
    p.platform,
    p.lang,
    p.lang_confidence,
    count(a.area_id) as area_count
from {{ ref('int_posts__classified') }} as p
left join {{ ref('stg_ml__post_areas') }} as a on p.post_id = a.post_id
group by
    p.post_id, p.created_day, p.created_at, p.city_code, p.country_code,
    p.source, p.platform, p.lang, p.lang_confidence
