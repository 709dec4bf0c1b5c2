-- The current gazetteer version only: marts never mix versions.
select
    c.post_id,
    c.model_version,
    c.city_code,
    c.from_text,
    c.from_hashtag,
    c.from_source
from {{ source('ml', 'post_cities') }} as c
inner join {{ source('ml', 'model_versions') }} as v
    on
        v.task = 'cities'
        and v.is_current
        and c.model_version = v.model_version
