"""Classify new posts: language, integration areas, sentiment, hate speech, places, keywords.

Triggered by the `raw_posts` asset (emitted by ingestion whenever posts land). The task runs
`classifiers.warehouse.classify_warehouse`: only posts without a classification of the current
model version of some task (or whose text changed since), in bounded batches, each committed on
its own, so a retry continues where a failed attempt stopped and a re-run does nothing twice.
Emits `post_classifications` for downstream dbt runs. Settings: MONITOR_WAREHOUSE_URL,
MONITOR_ENCODER_PATH, MONITOR_ENCODER_PRECISION (see docs/classifiers.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from monitor.orchestration import POST_CLASSIFICATIONS, RAW_POSTS, io_retries


@dag(
    dag_id="classify_posts",
    schedule=[RAW_POSTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # runs also serialise on an advisory lock in the warehouse
    tags=["classify", "ml"],
    default_args={
        "owner": "ml-engineering",
        **io_retries(timedelta(minutes=10), retries=2),
    },
    doc_md=__doc__,
)
def classify_posts():
    @task(outlets=[POST_CLASSIFICATIONS], execution_timeout=timedelta(hours=6))
    def classify() -> dict[str, int]:
        from classifiers.warehouse import classify_warehouse
        from core.settings import require_warehouse_url

        return classify_warehouse(require_warehouse_url())

    classify()


classify_posts()
