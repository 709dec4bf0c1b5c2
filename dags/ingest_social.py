"""Hourly ingestion of the configured social-media and news sources into `raw.posts`.

One mapped task per enabled source in `config/sources.yml` (dynamic task mapping), each
incremental from its cursor in the warehouse and bounded by the run's data interval. File
sources (`kind: file`) import the files that are new or changed since the last run, so a file
dropped into the import folder lands with the next scheduled run. A source that fails is
retried with backoff and never stops the others. `publish_raw_posts` emits the `raw_posts`
asset when a source landed new or changed posts, so downstream DAGs run on fresh posts only;
`check_sources` then marks the run failed if any source failed, for alerting.

Backfill a date range (windows before the live cursor are fetched again, idempotently):
`airflow backfill create --dag-id ingest_social --from-date 2026-03-01 --to-date 2026-03-08`.
Settings come from the environment: MONITOR_WAREHOUSE_URL, MONITOR_PEPPER,
MONITOR_SOURCES_CONFIG (default config/sources.yml) and the credentials the file names,
MONITOR_INGEST_SCHEDULE (default hourly), MONITOR_OFFLINE (only file sources run).
Thin wiring only: the steps are `extractors.social.jobs`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.definitions.timetables.interval import CronDataIntervalTimetable
from airflow.sdk.exceptions import AirflowSkipException

from core.settings import load_settings, require_pepper, require_warehouse_url
from extractors.social import jobs
from extractors.social.config import load_config
from monitor.orchestration import RAW_POSTS, default_args, io_retries

IO_RETRIES = io_retries(timedelta(minutes=15))


@dag(
    dag_id="ingest_social",
    # Hourly *data intervals* (a plain "@hourly" gives empty intervals in Airflow 3): each run
    # fetches [start, end) of its hour, which is what makes backfills by date range work.
    schedule=CronDataIntervalTimetable(load_settings().ingest_schedule, timezone="UTC"),
    # Early enough to backfill the platforms' history; catchup is off, so only backfills use it.
    start_date=datetime(2020, 1, 1),
    catchup=False,
    max_active_runs=1,  # runs of one source must not overlap (also enforced by a lock)
    tags=["ingest", "social", "news"],
    default_args=default_args("data-engineering", **IO_RETRIES),
    doc_md=__doc__,
)
def ingest_social():
    @task
    def prepare_sources() -> list[str]:
        enabled = jobs.prepare(require_warehouse_url())
        if not load_settings().offline:
            return enabled
        config = load_config()
        return [s for s in enabled if config.get(s).connector.kind == "file"]

    @task(max_active_tis_per_dagrun=2, execution_timeout=timedelta(minutes=50))
    def ingest_source(source_id: str) -> dict:
        context = get_current_context()
        settings = load_settings()
        return jobs.ingest(
            require_warehouse_url(settings),
            source_id,
            pepper=require_pepper(settings),
            start=context.get("data_interval_start"),
            end=context.get("data_interval_end"),
            batch_id=context["run_id"],
        )

    @task(trigger_rule="all_done", outlets=[RAW_POSTS])
    def publish_raw_posts(expected: list[str]) -> dict:
        context = get_current_context()
        summary = jobs.summarise(require_warehouse_url(), context["run_id"], expected)
        if expected and not summary["succeeded"]:
            raise AirflowSkipException("no source succeeded: nothing new for downstream DAGs")
        if not summary["inserted"] and not summary["updated"]:
            raise AirflowSkipException("no new or changed posts: nothing for downstream DAGs")
        context["outlet_events"][RAW_POSTS].extra = {
            k: summary[k] for k in ("inserted", "updated", "succeeded", "failed")
        }
        return summary

    @task(trigger_rule="all_done")
    def check_sources(expected: list[str]) -> None:
        summary = jobs.summarise(require_warehouse_url(), get_current_context()["run_id"], expected)
        bad = summary["failed"] + summary["did_not_run"]
        if bad:
            raise RuntimeError(f"sources failed or did not run: {', '.join(bad)}")

    sources = prepare_sources()
    reports = ingest_source.expand(source_id=sources)
    reports >> [publish_raw_posts(sources), check_sources(sources)]


ingest_social()
