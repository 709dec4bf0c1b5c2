"""DAG integrity: every DAG file imports without errors and follows the project's rules
(owner, tags, retries on every task, documentation)."""

from __future__ import annotations

import itertools
import os

import pytest

from core.settings import REPO_ROOT


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # build_warehouse runs `dbt parse` once when no manifest exists yet (a clean checkout)
    os.environ.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "180")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_every_dag_file_imports(dagbag) -> None:
    assert dagbag.import_errors == {}
    dag_files = {p.name for p in (REPO_ROOT / "dags").glob("*.py") if p.name != "__init__.py"}
    loaded = {os.path.basename(dag.fileloc) for dag in dagbag.dags.values()}
    assert dag_files <= loaded, f"files without a DAG: {dag_files - loaded}"


def test_dags_have_owner_tags_docs_and_retries(dagbag) -> None:
    assert dagbag.dags, "no DAGs found"
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no documentation"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            if task.task_id != "quality_gate":  # a failed gate is data, not a transient error
                assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


PRODUCTION_CHAIN = ("ingest_social", "ingest_statistics", "classify_posts", "build_warehouse")


def test_every_task_alerts_on_failure(dagbag) -> None:
    from monitor.orchestration import on_failure

    assert set(PRODUCTION_CHAIN) < set(dagbag.dags)
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert on_failure in callbacks, f"{dag_id}.{task.task_id} sends no alert"


def _inlets(dag) -> set[str]:
    """Names of the assets a DAG's schedule depends on."""
    condition = dag.timetable.asset_condition
    return {a.name for a in getattr(condition, "objects", [condition])}


def _outlets(dag) -> set[str]:
    return {a.name for t in dag.tasks for a in t.outlets}


def test_production_chain_is_linked_by_assets(dagbag) -> None:
    """ingest -> classify -> build (dbt, gate, publish): each DAG runs on what the previous
    emits, classification is mapped over shards, and the build waits for classifications."""
    dags = dagbag.dags
    assert "urban_monitor_pipeline" not in dags
    assert _outlets(dags["ingest_social"]) == {"raw_posts"}
    assert _inlets(dags["classify_posts"]) == {"raw_posts"}
    assert _outlets(dags["classify_posts"]) == {"post_classifications"}
    assert _inlets(dags["build_warehouse"]) == {"post_classifications", "official_statistics"}
    assert _outlets(dags["ingest_statistics"]) == {"official_statistics"}
    assert _outlets(dags["build_warehouse"]) == {"published_mart_city_area_daily"}
    classify = dags["classify_posts"]
    assert classify.get_task("classify_shard").is_mapped
    for upstream, downstream in itertools.pairwise(
        ["plan", "classify_shard", "publish_classifications"]
    ):
        assert downstream in classify.get_task(upstream).downstream_task_ids
    build = dags["build_warehouse"]
    assert "publish" in build.get_task("quality_gate").downstream_task_ids
