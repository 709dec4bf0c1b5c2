"""Scheduled extracts and alert digests for ministries and subscribers (docs/extracts.md).

(Not named extracts.py: Airflow puts dags/ on sys.path, where that name would hide the
`extracts` package.)

Runs hourly and whenever the `published_mart_city_area_daily` asset is updated (a new
publication). `due` lists the subscriptions of config/extracts.yml whose latest scheduled period
has not been delivered everywhere yet; one mapped `deliver` task per subscription builds its
data package from schema `published` (as monitor_extracts, never from a failed gate) and delivers
it by SFTP, e-mail or to a folder, with the delivery log preventing any second delivery. A
delivery that keeps failing raises: the task retries with backoff, then alerts
(`monitor.orchestration.on_failure`). A warehouse whose latest gate failed owes nothing until
the next publication. Backfill: `monitor extracts run SUBSCRIBER --interval START/END`. Thin
wiring only: the logic is in `extracts.run`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from core.settings import require_warehouse_url
from extracts import run as extract_run
from monitor.orchestration import PUBLISHED_MARTS, default_args, io_retries


@dag(
    dag_id="extracts",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("15 * * * *", timezone="UTC"), assets=PUBLISHED_MARTS
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["extracts", "digests", "delivery"],
    default_args=default_args("data-products", **io_retries(timedelta(minutes=30), retries=3)),
    doc_md=__doc__,
)
def extracts():
    @task
    def due() -> list[dict]:
        # A scheduled or backfilled run owes what was due at its logical date; an asset-
        # triggered run (no logical date) what is due when it runs.
        context = get_current_context()
        moment = context.get("logical_date") or context["dag_run"].run_after
        return extract_run.due_jobs(require_warehouse_url(), moment)

    @task(max_active_tis_per_dag=2)
    def deliver(job: dict) -> dict:
        return extract_run.run_job(require_warehouse_url(), job)

    deliver.expand(job=due())


extracts()
