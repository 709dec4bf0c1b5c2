-- The current keyword-model version only: marts never mix versions.
-- `context` is a window of post text: keep it out of anything the BI roles read.
select
    k.post_id,
    k.model_version,
    k.position,
    k.keyword,
    k.kind,
    k.label,
    k.context
from {{ source('ml', 'post_keywords') }} as k
inner join {{ source('ml', 'model_versions') }} as v
    on
        v.task = 'keywords'
        and v.is_current
        and k.model_version = v.model_version
