"""Backfills of a date range (docs/operations.md): `airflow backfill create` on a running
scheduler lands each hour of the range from a source that replays recorded answers, one run and
one window per hour; the warehouse build after it recomputes the backfilled days; and a manual
build's `rebuild_days` reaches every dbt task of the Cosmos group."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.db import PgParams, drop_database, ensure_database
from extractors.social.connectors.mastodon import snowflake
from monitor import pipeline
from monitor.airflow_env import airflow_env
from monitor.stack import Stack, _query, free_port
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, write_config
from tests.extractors.social.fakes import FakeMastodon, load, recorded_headers
from tests.extractors.social.wire_server import WireServer

pytestmark = pytest.mark.slow
HOUR = datetime(2025, 7, 17, 18, tzinfo=UTC)
HOURS = 3  # 18:00-21:00


@pytest.mark.timeout(2400)
def test_backfill_of_a_date_range_lands_every_hour_and_the_build_follows(
    wire: Path, warehouse_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    timeline = load(wire, "mastodon/get_timeline_hashtag_default.json")
    fake = FakeMastodon(
        {"tag/rstats": timeline},
        recorded_headers(wire, "mastodon/get_timeline_hashtag_default.response_headers.json"),
    )
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url(driver="psycopg2")
    try:
        with WireServer(fake) as server:
            fake.base = server.url
            config = write_config(
                tmp_path,
                [
                    {
                        "id": "bf_tags",
                        "kind": "mastodon",
                        "options": {"instance": server.url, "hashtags": ["rstats"]},
                    }
                ],
                {"initial_lookback_hours": 1},
            )
            env = {
                **os.environ,
                **airflow_env(
                    home=tmp_path / "home",
                    metadata_url=meta,
                    warehouse_url=warehouse_url,
                    admin_password="test",
                    jwt_secret="test-jwt-secret-" + "x" * 32,
                    api_port=free_port(),
                    log_server_ports=(free_port(), free_port()),
                ),
                "MONITOR_PEPPER": TEST_PEPPER,
                "MONITOR_SOURCES_CONFIG": str(config),
            }
            with Stack(env, tmp_path / "logs") as stack:
                stack.airflow("db", "migrate")
                stack.start_airflow(("scheduler", "dag-processor", "api-server"))
                stack.wait_http(f"{stack.api_url}/api/v2/monitor/health", 300)
                stack.unpause(["ingest_social"], meta)
                last = HOUR + timedelta(hours=HOURS - 1)
                stack.airflow(
                    "backfill", "create", "--dag-id", "ingest_social",
                    "--from-date", HOUR.isoformat(), "--to-date", last.isoformat(),
                    "--max-active-runs", "1",
                )  # fmt: skip
                deadline = time.monotonic() + 900
                while True:
                    stack.check()
                    states = _query(
                        meta,
                        "SELECT state FROM dag_run WHERE dag_id = 'ingest_social' "
                        "AND backfill_id IS NOT NULL",
                    )
                    if len(states) == HOURS and all(s in ("success", "failed") for (s,) in states):
                        break
                    assert time.monotonic() < deadline, f"backfill runs: {states}"
                    time.sleep(3)
        assert {s for (s,) in states} == {"success"}, states
        # One window per hour of the range, each fetched by its own run ...
        runs = rows(
            warehouse_url,
            "SELECT window_start, window_end, status FROM raw.import_runs "
            "WHERE source = 'bf_tags' AND window_start < %s ORDER BY 1",
            (HOUR + timedelta(hours=HOURS),),
        )
        assert [(s, e) for s, e, _ in runs] == [
            (HOUR + timedelta(hours=h), HOUR + timedelta(hours=h + 1)) for h in range(HOURS)
        ]
        assert {st for *_, st in runs} == {"succeeded"}
        # ... landing exactly the statuses of the range, once.
        lo, hi = snowflake(HOUR), snowflake(HOUR + timedelta(hours=HOURS))
        expected = sum(lo < int(s["id"]) < hi for s in timeline)
        assert expected > 0
        assert rows(warehouse_url, "SELECT count(*) FROM raw.posts")[0][0] == expected
    finally:
        drop_database(pg_admin_url, meta_db)

    # The build after the backfill recomputes the backfilled days (posts newer than the
    # incremental models' watermark), so they reach the coverage mart.
    pipeline.classify(warehouse_url)
    pipeline.build(warehouse_url)
    coverage = rows(
        warehouse_url,
        "SELECT month, sum(posts) FROM marts.mart_source_coverage "
        "WHERE source = 'bf_tags' GROUP BY 1",
    )
    assert [(m.isoformat(), n) for m, n in coverage] == [("2025-07-01", expected)]


def test_a_manual_build_passes_rebuild_days_to_every_dbt_task(tmp_path: Path) -> None:
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path / "airflow_home"))
    from airflow.dag_processing.dagbag import DagBag

    from core.settings import REPO_ROOT

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "build_warehouse.py"))
    assert bag.import_errors == {}
    dag = bag.dags["build_warehouse"]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert len(dbt_tasks) >= 20

    class Run:
        def __init__(self, conf: dict) -> None:
            self.conf = conf

    # Airflow's own rendering of the templated field, as a task run does it.
    for task in dbt_tasks:
        context = {"dag_run": Run({"rebuild_days": ["2026-03-01", "2026-03-02"]})}
        flags = task.render_template(task.dbt_cmd_flags, context)
        assert flags == ["--vars", '{"rebuild_days": ["2026-03-01", "2026-03-02"]}'], task.task_id
    flags = dbt_tasks[0].render_template(dbt_tasks[0].dbt_cmd_flags, {"dag_run": Run({})})
    assert flags == ["--vars", '{"rebuild_days": []}']
