"""The end-to-end pipeline in one DAG, as `bin/run` uses it: file imports -> raw -> classifiers ->
dbt -> quality gate -> published.

Schedule: daily. Thin wiring only; every step is a function in `monitor.pipeline`.
Settings come from the environment: MONITOR_WAREHOUSE_URL, MONITOR_PEPPER, MONITOR_HOME.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task

from core.settings import load_settings, require_pepper, require_warehouse_url
from monitor import pipeline
from monitor.orchestration import PUBLISHED_MARTS, io_retries

IO_RETRIES = io_retries(timedelta(minutes=5), first=timedelta(seconds=10))


@dag(
    dag_id="urban_monitor_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["foundation", "ingest", "classify", "dbt", "quality", "publish"],
    default_args={"owner": "data-engineering", "retries": 1, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def urban_monitor_pipeline():
    @task(**IO_RETRIES)
    def prepare_warehouse() -> list[str]:
        return pipeline.prepare(require_warehouse_url())

    @task(**IO_RETRIES)
    def import_files() -> dict:
        settings = load_settings()
        return pipeline.ingest(
            require_warehouse_url(settings),
            Path(settings.home) / "imports",
            pepper=require_pepper(settings),
        )

    @task
    def classify_posts() -> dict:
        return pipeline.classify(require_warehouse_url())

    @task
    def dbt_build() -> int:
        return pipeline.build(require_warehouse_url())

    # A failed gate is not transient: retrying cannot fix the data.
    @task(retries=0)
    def quality_gate() -> str:
        return pipeline.audit(require_warehouse_url())

    @task(outlets=[PUBLISHED_MARTS])
    def publish(gate_run_id: str) -> None:
        pipeline.publish_marts(require_warehouse_url(), gate_run_id)

    gate = quality_gate()
    prepare_warehouse() >> import_files() >> classify_posts() >> dbt_build() >> gate
    publish(gate)


urban_monitor_pipeline()
