-- The current language-model version only: marts never mix versions.
select
    l.post_id,
    l.model_version,
    l.lang,
    l.confidence
from {{ source('ml', 'post_languages') }} as l
inner join {{ source('ml', 'model_versions') }} as v
    on
        v.task = 'language'
        and v.is_current
        and l.model_version = v.model_version
