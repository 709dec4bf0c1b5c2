select
    area_id,
    dimension,
    label,
    description
from {{ ref('integration_areas') }}
