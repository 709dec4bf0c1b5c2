"""What the DAGs share: the assets they exchange and their retry policies.

One definition per asset, so that the DAG that emits one and the DAGs scheduled on it cannot
drift apart. Asset URIs have the shape postgres://<host>/<database>/<schema>/<table> that the
postgres provider validates. Only DAG files (and their tests) import this module.

    ingest_social ──raw_posts──▶ classify_posts ──post_classifications──▶ build_warehouse
    ingest_statistics ──official_statistics──────────────────────────────▶ build_warehouse
    build_warehouse, urban_monitor_pipeline ──published_mart_city_area_daily──▶ (consumers)
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset

RAW_POSTS = Asset(name="raw_posts", uri="postgres://warehouse/monitor/raw/posts")
POST_CLASSIFICATIONS = Asset(
    name="post_classifications", uri="postgres://warehouse/monitor/ml/classified_posts"
)
OFFICIAL_STATISTICS = Asset(
    name="official_statistics", uri="postgres://warehouse/monitor/raw/statistics_observations"
)
PUBLISHED_MARTS = Asset(
    name="published_mart_city_area_daily",
    uri="postgres://warehouse/monitor/published/mart_city_area_daily",
)


def io_retries(max_delay: timedelta, *, retries: int = 3, first: timedelta = timedelta(minutes=1)):
    """Retries for tasks that talk to networks or services (APIs, the warehouse): exponential
    backoff from `first`, capped at `max_delay`."""
    return {
        "retries": retries,
        "retry_delay": first,
        "retry_exponential_backoff": True,
        "max_retry_delay": max_delay,
    }
