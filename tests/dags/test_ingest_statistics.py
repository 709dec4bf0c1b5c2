"""The ingest_statistics DAG: weekly, one mapped task per configured source, retries with
backoff, the official_statistics asset; and its task callables run against the replay server."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg2
import pytest
import yaml

from core.settings import REPO_ROOT
from tests.extractors.statistics.conftest import local_config
from tests.extractors.statistics.replay import Answer, ReplayServer
from tests.extractors.statistics.wire import pxweb_jsonstat2


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "ingest_statistics.py"))
    assert bag.import_errors == {}
    return bag.dags["ingest_statistics"]


def test_dag_shape(dag) -> None:
    assert dag.schedule == "@weekly" and dag.timetable.expression == "0 0 * * 0"
    assert dag.max_active_runs == 1 and not dag.catchup
    ids = set(dag.task_ids)
    assert {
        "prepare_warehouse",
        "load_cities",
        "eurostat_datasets",
        "pxweb_tables",
        "fetch_eurostat",
        "fetch_pxweb",
        "import_mipex",
        "import_statistics_files",
        "publish_asset",
    } == ids
    fetch = dag.get_task("fetch_eurostat")
    assert fetch.retries == 3 and fetch.retry_exponential_backoff
    assert fetch.max_active_tis_per_dag == 2
    assert "fetch_eurostat" in dag.get_task("eurostat_datasets").downstream_task_ids
    assert "load_cities" in dag.get_task("prepare_warehouse").downstream_task_ids
    assert {"eurostat_datasets", "pxweb_tables"} <= dag.get_task("load_cities").downstream_task_ids
    assert "import_mipex" in dag.get_task("prepare_warehouse").downstream_task_ids
    publish = dag.get_task("publish_asset")
    assert {
        "fetch_eurostat",
        "fetch_pxweb",
        "import_mipex",
        "import_statistics_files",
    } <= publish.upstream_task_ids
    assert [a.name for a in publish.outlets] == ["official_statistics"]


def test_task_callables_use_the_package(
    dag, warehouse_url: str, server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = local_config(server.url).model_dump()
    cfg["pxweb"]["retries"] = 0
    config_file = tmp_path / "statistics.yml"
    config_file.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("MONITOR_STATISTICS_CONFIG", str(config_file))
    monkeypatch.setenv("MONITOR_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("MONITOR_HOME", str(tmp_path))  # no MIPEX files there: skipped, said so

    assert "urb_cpop1" in dag.get_task("eurostat_datasets").python_callable()
    tables = dag.get_task("pxweb_tables").python_callable()
    assert tables == ["scb_population_municipalities"]  # StatFin is disabled until checked
    server.route(
        "POST",
        "/pxweb/scb_population_municipalities",
        Answer(pxweb_jsonstat2([("0180", "Stockholm")], ["2023"], [984748])),
    )
    report = dag.get_task("fetch_pxweb").python_callable(table_id=tables[0])
    assert report["new_series"] == 1
    mipex = dag.get_task("import_mipex").python_callable()
    assert mipex["scores"] == 0 and "mipex_dataset.csv" in mipex["skipped"]
    # The simple statistics CSVs of the import folder (the demo's path) land as they are.
    (tmp_path / "imports" / "statistics").mkdir(parents=True)
    (tmp_path / "imports" / "statistics" / "city_stats.csv").write_text(
        "city_code,year,indicator,value,unit\nSE001C,2023,population,984748,NR\n"
    )
    files = dag.get_task("import_statistics_files").python_callable()
    assert files == {"city_stats.csv": 1}
    summary = dag.get_task("publish_asset").python_callable(
        eurostat=[], pxweb=[report], mipex=mipex, files=files
    )
    assert summary["datasets"] == 1 and summary["new_series"] == 1 and summary["file_rows"] == 1
    monkeypatch.setenv("MONITOR_OFFLINE", "true")  # the demo: no fetches from the internet
    assert dag.get_task("eurostat_datasets").python_callable() == []
    assert dag.get_task("pxweb_tables").python_callable() == []
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT geo_code, value FROM raw.statistics_observations")
        assert cur.fetchall() == [("SE001C", 984748.0)]
