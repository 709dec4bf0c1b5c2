-- Registered model versions per classification task; exactly one is current per task.
select
    task,
    model_version,
    description,
    registered_at,
    is_current
from {{ source('ml', 'model_versions') }}
