"""Official statistics: Eurostat, national statistics offices (PxWeb) and MIPEX, weekly.

One task per configured Eurostat dataset and PxWeb table (`config/statistics.yml`, dynamic
task mapping), so a failing source is retried on its own and does not hide the others; then the
MIPEX files found in `$MONITOR_HOME/imports/mipex/` and the simple statistics CSVs
(`city_code,year,indicator,value,unit`) in `$MONITOR_HOME/imports/statistics/`. With
MONITOR_OFFLINE set (the demo of `bin/run`), only the local files are read. Each fetch is landed as versions in
`raw.statistics_observations`: a cell is written only when it is new or Eurostat revised it,
so re-runs and backfills (`airflow backfill create --dag-id ingest_statistics ...`) are
idempotent and revisions stay visible. When every source has landed, the `official_statistics`
asset is updated; the dbt models (`fct_city_statistics`, `fct_country_statistics`) are built by
the next `dbt build`.

Thin wiring only: the logic is in `extractors.statistics`. Settings come from the environment
(MONITOR_WAREHOUSE_URL, MONITOR_HOME, MONITOR_OFFLINE, optionally MONITOR_STATISTICS_CONFIG).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from core.settings import load_settings, require_warehouse_url
from extractors.statistics import ingest
from extractors.statistics.simple_csv import import_simple_csv
from monitor import pipeline
from monitor.orchestration import OFFICIAL_STATISTICS, default_args, io_retries

# Statistics APIs are slow and rate-limited: retry with exponential backoff.
IO_RETRIES = io_retries(timedelta(minutes=30))


@dag(
    dag_id="ingest_statistics",
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["statistics", "ingest", "eurostat", "pxweb", "mipex"],
    default_args=default_args("data-engineering", retries=1, retry_delay=timedelta(minutes=1)),
    doc_md=__doc__,
)
def ingest_statistics():
    @task(**IO_RETRIES)
    def prepare_warehouse() -> list[str]:
        return pipeline.prepare(require_warehouse_url())

    # Before the Urban Audit fetches: with `cities.source: gisco` they ask for GISCO's cities.
    @task(**IO_RETRIES)
    def load_cities() -> dict:
        return ingest.load_reference_cities(require_warehouse_url())

    @task
    def eurostat_datasets() -> list[str]:
        return [] if load_settings().offline else ingest.enabled_eurostat_datasets()

    @task
    def pxweb_tables() -> list[str]:
        return [] if load_settings().offline else ingest.enabled_pxweb_tables()

    # Two at a time: polite to the APIs, and 2 cores is what a small deployment has.
    @task(**IO_RETRIES, max_active_tis_per_dag=2)
    def fetch_eurostat(dataset_id: str) -> dict:
        return ingest.ingest_eurostat_dataset(require_warehouse_url(), dataset_id)

    @task(**IO_RETRIES, max_active_tis_per_dag=2)
    def fetch_pxweb(table_id: str) -> dict:
        return ingest.ingest_pxweb_table(require_warehouse_url(), table_id)

    @task(**IO_RETRIES)
    def import_mipex() -> dict:
        return ingest.import_mipex(require_warehouse_url())

    @task(**IO_RETRIES)
    def import_statistics_files() -> dict[str, int]:
        folder = load_settings().home / "imports" / "statistics"
        url = require_warehouse_url()
        return {
            p.name: import_simple_csv(url, p, source=p.stem) for p in sorted(folder.glob("*.csv"))
        }

    # none_failed: a provider with nothing configured (or MONITOR_OFFLINE) maps no task, which
    # counts as skipped; the files still landed and the asset is updated.
    @task(outlets=[OFFICIAL_STATISTICS], trigger_rule="none_failed")
    def publish_asset(
        eurostat: list[dict], pxweb: list[dict], mipex: dict, files: dict[str, int]
    ) -> dict:
        return {
            **ingest.summarise([*eurostat, *pxweb]),
            "mipex_scores": mipex.get("scores", 0),
            "file_rows": sum(files.values()),
        }

    ready = prepare_warehouse()
    cities = load_cities()
    datasets, tables = eurostat_datasets(), pxweb_tables()
    ready >> cities >> [datasets, tables]
    eurostat = fetch_eurostat.expand(dataset_id=datasets)
    pxweb = fetch_pxweb.expand(table_id=tables)
    mipex = import_mipex()
    files = import_statistics_files()
    ready >> [mipex, files]
    publish_asset(eurostat, pxweb, mipex, files)


ingest_statistics()
