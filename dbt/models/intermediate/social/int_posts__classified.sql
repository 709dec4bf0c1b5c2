-- One row per post with its language and its city when the city is in the gazetteer.
-- A city code we do not know is kept out of city figures (never guessed), but the post stays.
select
    p.post_id,
    p.source,
    p.platform,
    p.created_at,
    p.created_day,
    c.city_code,
    coalesce(c.country_code, p.country_code) as country_code,
    coalesce(l.lang, 'und') as lang,
    l.confidence as lang_confidence,
    p.lang_hint
from {{ ref('stg_raw__posts') }} as p
left join {{ ref('stg_ml__post_languages') }} as l on p.post_id = l.post_id
left join {{ ref('dim_cities') }} as c on p.city_code = c.city_code
