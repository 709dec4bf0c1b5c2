"""Build the warehouse: dbt as a Cosmos task group (one `dbt build` task per seed and model, with
its unit and data tests), then the quality gate (Great Expectations + volume checks; results in
quality.check_results) and the atomic publish into `published` (suppressed, BI) and `published_detail` (detail role).

Triggered by either of the assets `post_classifications` (classify_posts, which runs on every
`raw_posts` event, so new posts reach the marts classified) and `official_statistics`
(statistics ingestion). A failed gate raises, alerts through `on_failure_callback` (logged,
recorded in quality.alerts and sent to the alert channel) and publishes nothing.

Backfill: the incremental models recompute every day that holds a post newer than their
watermark, so the build after an ingestion backfill rebuilds exactly the backfilled days; to
rebuild a date range without new posts, trigger the DAG with
`{"rebuild_days": ["2026-03-01", ...]}` as its configuration (docs/operations.md).
Thin wiring: dbt runs from dbt/ with dbt/profiles.yml, whose connection comes from the
environment (MONITOR_WAREHOUSE_URL -> DBT_PG_*); AIRFLOW__COSMOS__CACHE_DIR caches the parse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

from core.settings import REPO_ROOT, load_settings, require_warehouse_url
from expectations.alerts import on_gate_failure
from monitor import pipeline
from monitor.orchestration import (
    OFFICIAL_STATISTICS,
    POST_CLASSIFICATIONS,
    PUBLISHED_MARTS,
    default_args,
    on_failure,
)
from monitor.transform import DBT_DIR, dbt_env, ensure_manifest

# The group is rendered from dbt's manifest: the last dbt run's (pipeline, tests), else one
# `dbt parse` writes once. Every ref() is in the model SQL (tests/dbt checks it), so Cosmos's
# own parser would order the models too; the manifest also carries the tests and the config.
# Not `dbt ls`, whose cache needs Airflow's metadata database at parse time.
_url = load_settings().warehouse_url
MANIFEST = ensure_manifest(_url)

DBT_ENV = dbt_env(_url) if _url else {}
# Rendering reads the profile, whose variables must exist even without a warehouse.
RENDER_ENV = DBT_ENV or {
    "DBT_PG_HOST": "localhost",
    "DBT_PG_USER": "parse",
    "DBT_PG_DBNAME": "parse",
}


@dag(
    dag_id="build_warehouse",
    schedule=(POST_CLASSIFICATIONS | OFFICIAL_STATISTICS),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["dbt", "quality", "publish", "warehouse"],
    default_args=default_args("analytics-engineering", retries=1, retry_delay=timedelta(minutes=1)),
    doc_md=__doc__,
)
def build_warehouse():
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_DIR,
            manifest_path=MANIFEST,
        ),
        profile_config=ProfileConfig(
            profile_name="urban_integration_monitor",
            target_name="warehouse",
            profiles_yml_filepath=DBT_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            dbt_executable_path=str(REPO_ROOT / ".venv" / "bin" / "dbt"),
        ),
        # A test with several parents (relationships) becomes its own task after all of them:
        # attached to one parent it could read the other while it is being rebuilt.
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # One `dbt build` task per model and seed (its tests inline, so a failing test still
            # stops what depends on it): a third of the tasks of one per model and per test,
            # and each task's start-up (Airflow, dbt's parse) is what a small host pays for.
            test_behavior=TestBehavior.BUILD,
            env_vars=RENDER_ENV,
            should_detach_multiple_parents_tests=True,
            # No per-model assets: the DAG emits the published one itself, and Cosmos cannot
            # build an asset URI for a warehouse reached through a socket (embedded PostgreSQL).
            emit_datasets=False,
        ),
        operator_args={
            "env": DBT_ENV,
            "append_env": True,
            "install_deps": False,
            # A manual run's {"rebuild_days": [...]} reaches the incremental models' rebuild.
            "dbt_cmd_flags": [
                "--vars",
                "{{ {'rebuild_days': (dag_run.conf or {}).get('rebuild_days', [])} | tojson }}",
            ],
        },
    )

    # A failed gate is not transient: retrying cannot fix the data.
    @task(retries=0, on_failure_callback=[on_gate_failure, on_failure])
    def quality_gate() -> str:
        return pipeline.audit(require_warehouse_url())

    @task(outlets=[PUBLISHED_MARTS])
    def publish(gate_run_id: str) -> None:
        pipeline.publish_marts(require_warehouse_url(), gate_run_id)

    gate = quality_gate()
    dbt >> gate
    publish(gate)


build_warehouse()
