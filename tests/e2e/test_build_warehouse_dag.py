"""The production build DAG through real Airflow: `build_warehouse` renders the dbt project as a
Cosmos task group (one task per model, seed and test), then gates and publishes. Posts are
imported and classified first, as the ingest_social and classify_posts DAGs would."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg2
import pytest

from monitor import pipeline
from tests.conftest import TEST_PEPPER

pytestmark = pytest.mark.slow


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_build_warehouse_dag_runs_dbt_through_cosmos_then_gates_and_publishes(
    warehouse_url: str, airflow_run, demo_imports: Path
) -> None:
    pipeline.prepare(warehouse_url)
    pipeline.ingest(warehouse_url, demo_imports, pepper=TEST_PEPPER)
    pipeline.classify(warehouse_url)

    result = airflow_run("dags", "test", "build_warehouse")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]

    dbt_tasks = set(re.findall(r"end task task_id=(dbt\.[\w.]+)", out))
    assert any(t.startswith("dbt.fct_posts") for t in dbt_tasks), sorted(dbt_tasks)
    assert any(t.startswith("dbt.mart_city_area_daily") for t in dbt_tasks), sorted(dbt_tasks)
    assert len(dbt_tasks) >= 20, f"only {len(dbt_tasks)} dbt tasks ran: {sorted(dbt_tasks)}"
    for task in ("quality_gate", "publish"):
        assert f"end task task_id={task} " in out

    assert _query(warehouse_url, "SELECT passed, published FROM quality.gate_runs") == [
        (True, True)
    ]
    # Published: everything for the detail role, cells of at least k = 10 posts for BI.
    cols = "city_code, area_id, month, posts"
    built = _query(warehouse_url, f"SELECT {cols} FROM marts.mart_city_area_monthly")
    detail = _query(warehouse_url, f"SELECT {cols} FROM published_detail.mart_city_area_monthly")
    bi = _query(warehouse_url, f"SELECT {cols} FROM published.mart_city_area_monthly")
    assert len(built) > 200
    assert sorted(detail) == sorted(built)
    assert sorted(bi) == sorted(r for r in built if r[3] >= 10)
    assert 0 < len(bi) < len(built)
