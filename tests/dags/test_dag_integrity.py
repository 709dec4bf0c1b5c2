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


def test_pipeline_order(dagbag) -> None:
    dag = dagbag.dags["urban_monitor_pipeline"]
    order = [
        "prepare_warehouse",
        "import_files",
        "classify_posts",
        "dbt_build",
        "quality_gate",
        "publish",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.get_task("publish").outlets, "publish must emit the published-marts asset"
