"""A published warehouse for the extract tests: built once per session as in tests/dbt (demo
posts, the generator's labels as classifications, dbt build, gate, publish with k = 10), then
copied for each test with CREATE DATABASE ... TEMPLATE, so every test starts from the same
publication and an empty delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg2 import sql

from core.db import connect, drop_database, ensure_database
from core.migrate import migrate
from demo.generate import write_official_statistics, write_posts
from monitor.transform import ensure_manifest
from tests.dbt.test_marts import K, _run
from tests.e2e.expected import read_posts

N_POSTS = 15_000  # enough for focal points (the demo events) and cells above k


@pytest.fixture(scope="session", autouse=True)
def manifest() -> Path:
    """Subscriptions are validated against the manifest: parse the project once if needed."""
    return ensure_manifest()


@pytest.fixture(scope="session")
def published_template(pg_admin_url: str, tmp_path_factory) -> Iterator[tuple[str, list[dict]]]:
    name = f"monitor_extracts_tpl_{uuid.uuid4().hex[:8]}"
    url = ensure_database(pg_admin_url, name)
    imports = tmp_path_factory.mktemp("extract-imports")
    (imports / "posts").mkdir()
    (imports / "statistics").mkdir()
    write_posts(imports / "posts" / "demo.ndjson", N_POSTS, seed=5)
    write_official_statistics(imports / "statistics" / "stats.csv", seed=5)
    posts = read_posts(imports / "posts" / "demo.ndjson")
    try:
        migrate(url)
        _run(url, imports, posts)
        # The gate's SQLAlchemy pool keeps sessions open; a template must have none.
        conn = connect(pg_admin_url, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
        finally:
            conn.close()
        yield name, posts
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def published_url(
    pg_admin_url: str, published_template, tmp_path: Path, monkeypatch
) -> Iterator[str]:
    template, _ = published_template
    name = f"monitor_test_{uuid.uuid4().hex[:10]}"
    conn = connect(pg_admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    finally:
        conn.close()
    monkeypatch.setenv("MONITOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MONITOR_MIN_CELL_SIZE", str(K))
    url = ensure_database(pg_admin_url, name)
    try:
        yield url
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def demo_posts(published_template) -> list[dict]:
    return published_template[1]
