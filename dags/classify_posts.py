"""Classify new posts: language, integration areas, sentiment, hate speech, places, keywords.

Triggered by the `raw_posts` asset (emitted by ingestion whenever posts land). `plan` registers
the current model versions once, then `classify_shard` runs as one mapped task per shard: the
posts with post_id % MONITOR_CLASSIFY_SHARDS = shard (`classifiers.warehouse`), so that many
workers classify at once. Each shard takes only posts without a classification of the current
versions (or whose text changed since), in batches of MONITOR_CLASSIFY_BATCH, each committed on
its own: a retry - on any worker - continues where a lost attempt stopped, and no post is done
twice. `publish_classifications` emits `post_classifications` once every shard is done.
Settings: MONITOR_WAREHOUSE_URL, MONITOR_CLASSIFY_SHARDS, MONITOR_CLASSIFY_BATCH,
MONITOR_ENCODER_PATH, MONITOR_ENCODER_PRECISION (docs/classifiers.md, docs/deployment.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from core.settings import load_settings, require_warehouse_url
from monitor.orchestration import POST_CLASSIFICATIONS, RAW_POSTS, default_args, io_retries


@dag(
    dag_id="classify_posts",
    schedule=[RAW_POSTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["classify", "ml"],
    default_args=default_args(
        "ml-engineering", **io_retries(timedelta(minutes=10), first=timedelta(seconds=30))
    ),
    doc_md=__doc__,
)
def classify_posts():
    @task
    def plan() -> list[dict[str, int]]:
        from classifiers.warehouse import register_versions, shards

        register_versions(require_warehouse_url())
        # The count travels with each shard: a setting changed mid-run cannot mix two splits.
        return [
            {"index": s.index, "count": s.count} for s in shards(load_settings().classify_shards)
        ]

    @task(execution_timeout=timedelta(hours=6))
    def classify_shard(shard: dict[str, int]) -> dict[str, int]:
        from classifiers.warehouse import Shard, classify_warehouse

        settings = load_settings()
        return classify_warehouse(
            require_warehouse_url(settings),
            shard=Shard(shard["index"], shard["count"]),
            batch_size=settings.classify_batch,
        )

    @task(outlets=[POST_CLASSIFICATIONS])
    def publish_classifications(counts: list[dict[str, int]]) -> dict[str, int]:
        return {t: sum(c.get(t, 0) for c in counts) for t in sorted({t for c in counts for t in c})}

    publish_classifications(classify_shard.expand(shard=plan()))


classify_posts()
