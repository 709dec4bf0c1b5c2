-- The bridge between posts and cities: one row per post and city it is attributed to, with the
-- post's figures, for the city-level aggregates. A post counts for every city the current
-- cities model found in its text or hashtags (stg_ml__post_cities: the current version only)
-- and for its source's city (the city hint, when the gazetteer knows it); a post naming two
-- cities counts once for each (docs/marts.md). A view: the rows are int_posts__enriched's
-- `city_codes`, so it is exactly as incremental as that model.
select
    p.post_id,
    u.city_code,
    concat_ws(
        '+',
        case when u.city_code = p.city_code or c.from_source then 'source' end,
        case when c.from_text then 'text' end,
        case when c.from_hashtag then 'hashtag' end
    ) as evidence,
    u.city_code = p.city_code as is_source_city,
    p.city_code as source_city_code,
    p.day,
    p.created_at,
    p.source,
    p.platform,
    p.lang,
    p.areas,
    p.sentiment,
    p.polarity,
    p.is_hate,
    p.keywords,
    p.lang_model_version,
    p.area_model_version,
    p.sentiment_model_version,
    p.hate_model_version,
    p.keyword_model_version,
    p.city_model_version
from {{ ref('int_posts__enriched') }} as p
cross join lateral unnest(p.city_codes) as u (city_code)
left join {{ ref('stg_ml__post_cities') }} as c
    on p.post_id = c.post_id and u.city_code = c.city_code
