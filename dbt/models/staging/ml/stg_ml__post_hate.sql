-- The current hate-speech-model version only: marts never mix versions.
select
    h.post_id,
    h.model_version,
    h.is_hate,
    h.probability
from {{ source('ml', 'post_hate') }} as h
inner join {{ source('ml', 'model_versions') }} as v
    on
        v.task = 'hate'
        and v.is_current
        and h.model_version = v.model_version
