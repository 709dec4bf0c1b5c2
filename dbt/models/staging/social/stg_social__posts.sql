select
    post_id,
    source,
    platform,
    external_id,
    created_at,
    cast(created_at at time zone 'UTC' as date) as created_day,
    author_pseudonym,
    text,
    lang_hint,
    city_hint as city_code,
    country_hint as country_code,
    fetched_at
from {{ source('social', 'posts') }}
