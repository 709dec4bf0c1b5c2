-- Which posts each model version has looked at, even when it found nothing (no area, no
-- keyword): how "looked at, found nothing" is told from "not classified yet".
select
    task,
    model_version,
    post_id,
    classified_at
from {{ source('ml', 'classified_posts') }}
