"""The retention and erasure DAGs: schedules, retries, wiring; their task callables on a real
(migrated, empty) warehouse, with a request file in the folder the settings name."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg2
import pytest

from core.settings import REPO_ROOT
from tests.conftest import TEST_PEPPER


def _dag(name: str, tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{name}.py"))
    assert bag.import_errors == {}
    return bag.dags[name]


def test_retention_dag(
    tmp_path_factory: pytest.TempPathFactory, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = _dag("retention", tmp_path_factory)
    assert dag.schedule == "@daily" and dag.max_active_runs == 1 and not dag.catchup
    (purge,) = dag.tasks
    assert purge.retries == 3 and purge.owner == "data-engineering"
    monkeypatch.setenv("MONITOR_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("MONITOR_RETENTION_DAYS", "30")
    run = purge.python_callable()
    assert run["retention_days"] == 30 and sum(run["purged"].values()) == 0
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, retention_days FROM ops.retention_runs")
        assert cur.fetchall() == [("succeeded", 30)]


def test_erasure_dag(
    tmp_path_factory: pytest.TempPathFactory,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dag = _dag("erasure", tmp_path_factory)
    assert dag.schedule == "@hourly" and dag.max_active_runs == 1
    erase, rebuild = dag.get_task("erase_requests"), dag.get_task("rebuild_and_republish")
    assert erase.downstream_task_ids == {"rebuild_and_republish"}
    assert [a.name for a in rebuild.outlets] == ["published_mart_city_area_daily"]
    monkeypatch.setenv("MONITOR_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("MONITOR_HOME", str(tmp_path))
    monkeypatch.setenv("MONITOR_PEPPER", TEST_PEPPER)
    folder = tmp_path / "erasure" / "requests"
    folder.mkdir(parents=True)
    (folder / "dpo-1.txt").write_text("author 0123456789abcdef0123456789abcdef\n")
    assert [d["posts"] for d in erase.python_callable()] == [0]
    assert list(folder.iterdir()) == []
    # Nothing was found, so no figure counted it: marked published without a dbt run.
    assert rebuild.python_callable()["gate_run_id"] is None
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT kind, items, posts, status FROM ops.erasure_requests")
        assert cur.fetchall() == [("author", 1, 0, "published")]
