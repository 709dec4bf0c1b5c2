"""`ingest_social` through real Airflow (`airflow dags test`) on a real PostgreSQL: the mapped
tasks land the hour's posts of each configured source from a local replay server, and the
`raw_posts` asset event is recorded for downstream DAGs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest

from core.db import PgParams, drop_database, ensure_database
from extractors.social.connectors.mastodon import snowflake
from monitor.airflow_env import airflow_env
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, write_config
from tests.extractors.social.fakes import FakeMastodon, load, recorded_headers
from tests.extractors.social.wire_server import WireServer

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).parent / "airflow")
HOUR = datetime(2025, 7, 17, 19, tzinfo=UTC)


@pytest.mark.timeout(300)
def test_hourly_run_maps_sources_lands_the_hour_and_emits_the_asset(
    wire: Path, warehouse_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    timelines = {
        "tag/rstats": load(wire, "mastodon/get_timeline_hashtag_default.json"),
        "local": load(wire, "mastodon/get_timeline_public_instance_local.json"),
    }
    fake = FakeMastodon(
        timelines,
        recorded_headers(wire, "mastodon/get_timeline_hashtag_default.response_headers.json"),
    )
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta_url = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url(driver="psycopg2")
    try:
        with WireServer(fake) as server:
            fake.base = server.url
            config = write_config(
                tmp_path,
                [
                    {
                        "id": "af_tags",
                        "kind": "mastodon",
                        "options": {"instance": server.url, "hashtags": ["rstats"]},
                    },
                    {
                        "id": "af_local",
                        "kind": "mastodon",
                        "options": {"instance": server.url, "timeline": "local"},
                    },
                ],
                {"initial_lookback_hours": 1},  # a first run reads its hour only
            )
            env = {
                **os.environ,
                **airflow_env(
                    home=tmp_path / "home",
                    metadata_url=meta_url,
                    warehouse_url=warehouse_url,
                    admin_password="test",
                    jwt_secret="test-jwt-secret-" + "x" * 32,
                ),
                "MONITOR_PEPPER": TEST_PEPPER,
                "MONITOR_SOURCES_CONFIG": str(config),
            }

            def airflow(*args: str) -> subprocess.CompletedProcess:
                return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)

            migrated = airflow("db", "migrate")
            assert migrated.returncode == 0, migrated.stderr[-3000:]
            # A manual run's data interval is the hour that ends at its logical date.
            run = airflow("dags", "test", "ingest_social", (HOUR + timedelta(hours=1)).isoformat())
            (tmp_path / "airflow.log").write_text(run.stdout + run.stderr)
            assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
        # Each source landed exactly the statuses that reached the instance in the hour.
        window = (snowflake(HOUR), snowflake(HOUR + timedelta(hours=1)))
        expected = {
            source: sum(window[0] < int(s["id"]) < window[1] for s in timelines[key])
            for source, key in (("af_tags", "tag/rstats"), ("af_local", "local"))
        }
        assert expected["af_tags"] > 0 and expected["af_local"] > 0
        landed = dict(rows(warehouse_url, "SELECT source, count(*) FROM raw.posts GROUP BY 1"))
        assert landed == expected
        runs = rows(
            warehouse_url,
            "SELECT source, status, window_start, window_end, batch_id FROM raw.import_runs ORDER BY 1",
        )
        assert [(s, st, ws, we) for s, st, ws, we, _ in runs] == [
            ("af_local", "succeeded", HOUR, HOUR + timedelta(hours=1)),
            ("af_tags", "succeeded", HOUR, HOUR + timedelta(hours=1)),
        ]
        assert runs[0][4] == runs[1][4] and runs[0][4]  # one batch: the DAG run's id
        with psycopg2.connect(PgParams.from_url(meta_url).url()) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id"
            )
            events = cur.fetchall()
        assert [name for name, _ in events] == ["raw_posts"]
        assert events[0][1]["succeeded"] == ["af_local", "af_tags"]
        assert events[0][1]["inserted"] == sum(expected.values())
    finally:
        drop_database(pg_admin_url, meta_db)
