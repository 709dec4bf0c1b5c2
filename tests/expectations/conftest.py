"""A built warehouse for the gate and publish tests: built once per session (a dbt build takes
most of a minute), copied for each module. Posts come from the demo generator; every classification is the generator's
label ("oracle" versions, as in tests/dbt), so the build needs no encoder. Tests that change
the marts restore them (`restored`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from bench.warehouse import (
    ORACLE_VERSION,
    _copy,
    load_oracle_classifications,
    register_oracle_versions,
)
from core.db import drop_database, ensure_database
from demo.generate import write_official_statistics, write_posts
from monitor import pipeline
from publication import publish
from tests.conftest import TEST_PEPPER
from tests.databases import database_copy, terminate_sessions
from tests.e2e.expected import read_posts

N_POSTS = 2_000
K = 10


def query(url: str, q: str, args=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall() if cur.description else []


def published_checksum(url: str) -> str:
    """Every row of every table in `published` and `published_detail`, order-independent."""
    tables = query(
        url,
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname IN ('published', 'published_detail') ORDER BY 1, 2",
    )
    digest = hashlib.sha256()
    for schema, table in tables:
        rows = sorted(map(repr, query(url, f"SELECT * FROM {schema}.{table}")))
        digest.update(repr((schema, table, rows)).encode())
    return digest.hexdigest()


def _oracle_language_and_areas(url: str, posts: list[dict]) -> None:
    labels = {(p["source"], p["external_id"]): p for p in posts}
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        register_oracle_versions(cur, ("language", "areas"))
        cur.execute("SELECT post_id, source, external_id FROM raw.posts")
        landed = [(pid, labels[(src, ext)]) for pid, src, ext in cur.fetchall()]
        v = ORACLE_VERSION
        _copy(cur, "ml.post_languages", "post_id, model_version, lang, confidence",
              [(pid, v, p["lang"], 0.99) for pid, p in landed])  # fmt: skip
        _copy(cur, "ml.post_areas", "post_id, model_version, area_id, score",
              [(pid, v, a, 0.9) for pid, p in landed for a in sorted(set(p["labels"]["areas"]))])  # fmt: skip
        _copy(cur, "ml.classified_posts", "task, model_version, post_id",
              [(t, v, pid) for pid, _ in landed for t in ("language", "areas")])  # fmt: skip


@pytest.fixture(scope="session")
def built_template(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A warehouse built, gated and published once per session; the name of that database,
    with no session left open on it so that it can be copied."""
    name = f"monitor_gate_tpl_{uuid.uuid4().hex[:8]}"
    url = ensure_database(pg_admin_url, name)
    try:
        imports = tmp_path_factory.mktemp("imports")
        (imports / "posts").mkdir()
        (imports / "statistics").mkdir()
        write_posts(imports / "posts" / "demo.ndjson", N_POSTS, seed=5)
        write_official_statistics(imports / "statistics" / "stats.csv", seed=5)
        posts = read_posts(imports / "posts" / "demo.ndjson")
        pipeline.prepare(url)
        pipeline.ingest(url, Path(imports), pepper=TEST_PEPPER)
        _oracle_language_and_areas(url, posts)
        load_oracle_classifications(url, posts)
        pipeline.build(url)
        publish.publish(url, pipeline.audit(url), k=K)
        terminate_sessions(pg_admin_url, name)
        yield name
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def built(pg_admin_url: str, built_template: str) -> Iterator[str]:
    """A copy of the built, gated and published warehouse for one module (its tests change
    the marts and publish); yields its URL."""
    with database_copy(pg_admin_url, built_template) as url:
        yield url


@contextmanager
def restored(url: str, table: str) -> Iterator[None]:
    """Whatever the block does to `marts.<table>`'s rows, they are as before afterwards."""
    query(url, f"CREATE TABLE marts.{table}__backup AS TABLE marts.{table}")
    try:
        yield
    finally:
        query(url, f"TRUNCATE marts.{table}; INSERT INTO marts.{table} "
              f"SELECT * FROM marts.{table}__backup; DROP TABLE marts.{table}__backup")  # fmt: skip
