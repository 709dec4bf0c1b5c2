"""Erasure requests in batches, hourly: every request file in
`$MONITOR_HOME/erasure/requests/*.txt` (lines `post SOURCE:EXTERNAL_ID` or `author PSEUDONYM`)
is erased everywhere, one transaction per file, oldest first, and the file deleted once
committed (it names people; ops.erasure_requests keeps its hash and counts). Then the
(city, day) cells the erased posts counted in, of every erasure not yet republished, are
rebuilt (dbt build with vars rebuild_cells / rebuild_days), gated and published. A file that
does not parse stays and fails the task, naming its line. Thin wiring: `lifecycle.erasure`,
`monitor.lifecycle` (docs/privacy.md, "Erasure").
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from core.settings import load_settings, require_pepper, require_warehouse_url
from monitor import lifecycle
from monitor.orchestration import PUBLISHED_MARTS, default_args, io_retries


@dag(
    dag_id="erasure",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["privacy", "erasure", "lifecycle"],
    default_args=default_args("data-engineering", **io_retries(timedelta(minutes=10))),
    doc_md=__doc__,
)
def erasure():
    @task
    def erase_requests() -> list[dict]:
        settings = load_settings()
        folder = settings.erasure_requests_dir
        folder.mkdir(parents=True, exist_ok=True)
        return lifecycle.erase_request_files(
            require_warehouse_url(settings), folder, pepper=require_pepper(settings)
        )

    # Also after a failed attempt: the cells of earlier erasures stay pending until published.
    @task(outlets=[PUBLISHED_MARTS], execution_timeout=timedelta(hours=2))
    def rebuild_and_republish() -> dict:
        return asdict(lifecycle.rebuild_erased(require_warehouse_url()))

    erase_requests() >> rebuild_and_republish()


erasure()
