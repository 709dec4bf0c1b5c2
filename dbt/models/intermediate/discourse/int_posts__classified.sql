-- One row per post with its current classifications (language, sentiment, hate speech) and its
-- city when the city is in the gazetteer (int_cities__reconciled: the cities of dim_cities). A
-- city code we do not know is kept out of city figures (never guessed), but the post stays. A
-- task that has not classified a post yet gives nulls (and a null model version), which the
-- incremental int_posts__enriched picks up again on the next run.
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
    p.lang_hint,
    l.model_version as lang_model_version,
    s.sentiment,
    s.polarity,
    s.model_version as sentiment_model_version,
    h.is_hate,
    h.probability as hate_probability,
    h.model_version as hate_model_version
from {{ ref('stg_social__posts') }} as p
left join {{ ref('stg_ml__post_languages') }} as l on p.post_id = l.post_id
left join {{ ref('stg_ml__post_sentiment') }} as s on p.post_id = s.post_id
left join {{ ref('stg_ml__post_hate') }} as h on p.post_id = h.post_id
left join {{ ref('int_cities__reconciled') }} as c on p.city_code = c.city_code
