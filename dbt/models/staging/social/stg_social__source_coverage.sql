-- The coverage registry the extractors maintain (raw.source_coverage): what each source is
-- configured to cover and how its last run went. One row per source.
select
    source,
    kind as source_kind,
    platform,
    scope as source_scope,
    languages as declared_languages,
    cities as declared_cities,
    countries as declared_countries,
    enabled as is_enabled,
    first_post_at,
    last_post_at,
    posts_total,
    last_run_at,
    last_run_status
from {{ source('social', 'source_coverage') }}
