"""Official statistics and reference data.

Connectors for the Eurostat dissemination API (JSON-stat 2.0, SDMX-CSV 1.0 and 2.0, the
asynchronous answer for large queries), PxWeb national statistics APIs (Statistics Sweden,
Statistics Finland, ...) and MIPEX policy-index files, configured as data in
``config/statistics.yml``. Observations land in ``raw.statistics_observations`` as versions: a
cell is written again only when its value or flags changed, so revisions stay visible and re-runs
are idempotent. The dbt models in ``dbt/models/{staging,marts}/statistics`` build the long facts
``fct_city_statistics`` and ``fct_country_statistics`` from there.

Public entry points (used by ``dags/ingest_statistics.py``):

- :func:`ingest_eurostat_dataset`, :func:`ingest_pxweb_table`, :func:`import_mipex`,
  :func:`ingest_statistics_file`, :func:`ingest_all`
- :func:`load_config` for the configuration
"""

from extractors.statistics.config import ConfigError, load_config
from extractors.statistics.ingest import (
    import_mipex,
    ingest_all,
    ingest_eurostat_dataset,
    ingest_pxweb_table,
    ingest_statistics_file,
)

__all__ = [
    "ConfigError",
    "import_mipex",
    "ingest_all",
    "ingest_eurostat_dataset",
    "ingest_pxweb_table",
    "ingest_statistics_file",
    "load_config",
]
