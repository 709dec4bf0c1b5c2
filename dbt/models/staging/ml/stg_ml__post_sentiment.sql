-- The current sentiment-model version only: marts never mix versions.
select
    s.post_id,
    s.model_version,
    s.sentiment,
    s.score,
    s.p_negative,
    s.p_neutral,
    s.p_positive,
    s.p_positive - s.p_negative as polarity
from {{ source('ml', 'post_sentiment') }} as s
inner join {{ source('ml', 'model_versions') }} as v
    on
        v.task = 'sentiment'
        and v.is_current
        and s.model_version = v.model_version
