-- The current area-model version only: marts never mix versions.
select
    a.post_id,
    a.model_version,
    a.area_id,
    a.score
from {{ source('ml', 'post_areas') }} as a
inner join {{ source('ml', 'model_versions') }} as v
    on
        v.task = 'areas'
        and v.is_current
        and a.model_version = v.model_version
