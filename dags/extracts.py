"""Scheduled extracts and alert digests for ministries and subscribers (docs/extracts.md).

Runs hourly and whenever the `published_mart_city_area_daily` asset is updated (a new
publication). `due` lists the subscriptions of config/extracts.yml whose latest scheduled period
has not been delivered everywhere yet; one mapped `deliver` task per subscription builds its
data package from schema `published` (as monitor_extracts, never from a failed gate) and delivers
it by SFTP, e-mail or to a folder, with the delivery log preventing any second delivery. A
delivery that keeps failing raises: the task retries with backoff and then alerts (logged and
recorded in quality.alerts). Backfill: `monitor extracts run SUBSCRIBER --interval START/END`.
Thin wiring only: the logic is in `extracts.run`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from core.settings import load_settings, require_warehouse_url
from expectations.alerts import record_alert
from extracts import run as extract_run
from monitor.orchestration import PUBLISHED_MARTS, io_retries

log = logging.getLogger(__name__)


def on_delivery_failure(context) -> None:
    ti = context.get("task_instance")
    message = f"extract delivery failed: {context.get('exception')}"
    log.error("ALERT %s", message)
    url = load_settings().warehouse_url
    if url:
        try:
            record_alert(
                url,
                message,
                dag_id=getattr(ti, "dag_id", None),
                task_id=getattr(ti, "task_id", None),
                run_id=getattr(ti, "run_id", None),
            )
        except Exception:  # an alert must never mask the failure it reports
            log.exception("could not record the alert in quality.alerts")


@dag(
    dag_id="extracts",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("15 * * * *", timezone="UTC"), assets=PUBLISHED_MARTS
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["extracts", "digests", "delivery"],
    default_args={"owner": "data-products", **io_retries(timedelta(minutes=30), retries=3)},
    doc_md=__doc__,
)
def extracts():
    @task
    def due() -> list[dict]:
        run_after = get_current_context()["dag_run"].run_after
        return extract_run.due_jobs(require_warehouse_url(), run_after)

    @task(on_failure_callback=on_delivery_failure, max_active_tis_per_dag=2)
    def deliver(job: dict) -> dict:
        return extract_run.run_job(require_warehouse_url(), job)

    deliver.expand(job=due())


extracts()
