"""Retention, daily: the text of posts older than MONITOR_RETENTION_DAYS (default 400) is purged
from raw.posts, the keyword-in-context windows (ml.post_keywords, fct_keyword_contexts in marts
and published_detail) and rejected records; every figure stays, so nothing is rebuilt or
republished. One partition of raw.posts (a UTC month) per transaction; a month wholly before
the cutoff is sealed and skipped afterwards. Each run is logged in ops.retention_runs (cutoff,
period, rows per table). Thin wiring: the logic is in `lifecycle.retention`
(docs/privacy.md, "Retention").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from core.settings import require_warehouse_url
from monitor import lifecycle
from monitor.orchestration import default_args, io_retries


@dag(
    dag_id="retention",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,  # each run purges everything before its cutoff: missed days need no replay
    max_active_runs=1,
    tags=["privacy", "retention", "lifecycle"],
    default_args=default_args("data-engineering", **io_retries(timedelta(minutes=30))),
    doc_md=__doc__,
)
def retention():
    @task(execution_timeout=timedelta(hours=4))
    def purge_expired_text() -> dict:
        return lifecycle.purge_expired_text(require_warehouse_url())

    purge_expired_text()


retention()
