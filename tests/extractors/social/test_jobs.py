"""The `ingest_social` DAG's wiring, and the job functions it calls, on a real warehouse."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from extractors.social import jobs
from extractors.social.config import ConfigError
from monitor.orchestration import RAW_POSTS
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, write_config
from tests.extractors.social.fakes import FakeMastodon, load, recorded_headers
from tests.extractors.social.wire_server import WireServer


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "ingest_social.py"))
    assert bag.import_errors == {}
    return bag.dags["ingest_social"]


def test_dag_is_hourly_mapped_over_sources_and_emits_raw_posts(dag) -> None:
    # Hourly data intervals (not empty trigger intervals): runs and backfills cover their hour.
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression in ("@hourly", "0 * * * *")
    assert dag.max_active_runs == 1 and dag.catchup is False
    ingest = dag.get_task("ingest_source")
    assert type(ingest).__name__.endswith("MappedOperator")  # dynamic task mapping (.expand)
    assert ingest.upstream_task_ids == {"prepare_sources"}
    assert ingest.retries >= 1 and ingest.retry_exponential_backoff
    assert ingest.max_retry_delay == timedelta(minutes=15)
    publish = dag.get_task("publish_raw_posts")
    # (the postgres provider normalises the URI with the default port)
    assert [a.name for a in publish.outlets] == [RAW_POSTS.name]
    assert publish.outlets[0].uri == RAW_POSTS.uri
    for task_id in ("publish_raw_posts", "check_sources"):
        task = dag.get_task(task_id)
        assert task.trigger_rule == "all_done"  # runs whichever sources failed
        assert "ingest_source" in task.upstream_task_ids
    assert {t.owner for t in dag.tasks} == {"data-engineering"}


def test_jobs_prepare_ingest_summarise(wire: Path, warehouse_url: str, tmp_path: Path) -> None:
    fake = FakeMastodon(
        {"public": load(wire, "mastodon/get_timeline_public_default.json")},
        recorded_headers(wire, "mastodon/get_timeline_public_default.response_headers.json"),
    )
    with WireServer(fake) as server:
        fake.base = server.url
        config = write_config(
            tmp_path,
            [
                {
                    "id": "ok",
                    "kind": "mastodon",
                    "options": {"instance": server.url, "timeline": "public"},
                },
                {
                    "id": "broken",
                    "kind": "mastodon",
                    "options": {"instance": server.url, "hashtags": ["none"]},
                },
                {
                    "id": "off",
                    "kind": "rss",
                    "enabled": False,
                    "options": {"feeds": ["https://e.org/f"]},
                },
                {"id": "never", "kind": "rss", "options": {"feeds": ["http://127.0.0.1:9/f"]}},
            ],
        )
        ids = jobs.prepare(warehouse_url, str(config))
        assert ids == ["ok", "broken", "never"]
        registered = rows(
            warehouse_url, "SELECT source, enabled FROM raw.source_coverage ORDER BY 1"
        )
        assert registered == [("broken", True), ("never", True), ("off", False), ("ok", True)]
        start, end = datetime(2025, 7, 17, tzinfo=UTC), datetime(2025, 7, 18, tzinfo=UTC)
        report = jobs.ingest(
            warehouse_url,
            "ok",
            pepper=TEST_PEPPER,
            start=start,
            end=end,
            batch_id="run-1",
            config_path=str(config),
        )
        assert report["stats"]["inserted"] == 20
        with pytest.raises(jobs.SourceFailed, match="source 'broken' failed: tag/none: FetchError"):
            jobs.ingest(
                warehouse_url,
                "broken",
                pepper=TEST_PEPPER,
                start=start,
                end=end,
                batch_id="run-1",
                config_path=str(config),
            )
    summary = jobs.summarise(warehouse_url, "run-1", ids)
    assert summary["succeeded"] == ["ok"] and summary["failed"] == ["broken"]
    assert summary["did_not_run"] == ["never"] and summary["inserted"] == 20


def test_prepare_refuses_a_broken_file(warehouse_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"id": "x1", "kind": "nope"}])
    with pytest.raises(
        ConfigError, match=r"sources.yml: source 'x1' \(sources\[0\]\), field 'kind'"
    ):
        jobs.prepare(warehouse_url, str(config))
