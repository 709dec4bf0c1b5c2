"""The `extracts` DAG through real Airflow (`airflow dags test`) on a published warehouse: the
due subscriptions are mapped to one delivery task each, their packages land in the outbox and
the delivery log, and a second run of the same moment delivers nothing again."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
import yaml

from core.db import PgParams, drop_database, ensure_database
from extracts.config import CONFIG_PATH
from monitor.airflow_env import airflow_env

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def test_extracts_dag_maps_due_subscriptions_and_never_delivers_twice(
    published_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    raw = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    keep = {"nl_cities_weekly", "se_ministry_yearly"}  # folder destinations
    raw["subscribers"] = [s for s in raw["subscribers"] if s["name"] in keep]
    config = tmp_path / "extracts.yml"
    config.write_text(yaml.safe_dump(raw))
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta_url = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url(driver="psycopg2")
    home = tmp_path / "home"
    env = {
        **os.environ,
        **airflow_env(
            home=home,
            metadata_url=meta_url,
            warehouse_url=published_url,
            admin_password="test",
            jwt_secret="test-jwt-secret-" + "x" * 32,
        ),
        "MONITOR_HOME": str(home),
        "MONITOR_EXTRACTS_CONFIG": str(config),
    }
    try:
        assert (
            subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True).returncode == 0
        )
        runs = []
        for _ in range(2):
            run = subprocess.run(
                [AIRFLOW, "dags", "test", "extracts", "2026-08-04T08:00:00+00:00"],
                env=env,
                capture_output=True,
                text=True,
            )
            (tmp_path / "airflow.log").open("a").write(run.stdout + run.stderr)
            assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
            runs.append(run.stdout + run.stderr)
    finally:
        drop_database(pg_admin_url, meta_db)
    # Mapped: one deliver task instance per due subscription.
    assert runs[0].count("end task task_id=deliver") >= 2, runs[0][-3000:]
    outbox = home / "extracts" / "outbox"
    weekly = outbox / "nl_cities_weekly" / "nl_cities_weekly_2026-07-27_2026-08-03.zip"
    yearly = outbox / "se_ministry_yearly" / "se_ministry_yearly_2025-01-01_2026-01-01.zip"
    assert weekly.is_file() and yearly.is_file()
    with psycopg2.connect(published_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT subscriber, interval_start::text, status, attempts FROM extracts.deliveries "
            "ORDER BY 1"
        )
        log = cur.fetchall()
    assert log == [
        ("nl_cities_weekly", "2026-07-27", "delivered", 1),
        ("se_ministry_yearly", "2025-01-01", "delivered", 1),
    ]
