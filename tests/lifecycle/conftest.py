"""A built warehouse for the lifecycle tests: generated posts imported, classified from the
generator's labels (as tests/dbt/test_marts does), dbt built, gated and published once per
session, and copied for each test."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from core.db import drop_database, ensure_database
from core.migrate import migrate
from demo.generate import write_official_statistics, write_posts
from tests.conftest import set_test_passwords
from tests.databases import database_copy, terminate_sessions
from tests.dbt.test_marts import _run
from tests.e2e.expected import read_posts

N_POSTS = 1_500


def query(url: str, q: str, args=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall() if cur.description else []


def checksums(url: str, schema: str) -> dict[str, str]:
    """A checksum of every table of `schema`, over its rows in any order."""
    found = {}
    for (table,) in query(
        url,
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
        (schema,),
    ):
        rows = sorted(map(repr, query(url, f'SELECT * FROM {schema}."{table}"')))
        found[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return found


@pytest.fixture(scope="session")
def built_template(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built warehouse, once per session; the name of that database."""
    name = f"monitor_lifecycle_tpl_{uuid.uuid4().hex[:8]}"
    url = ensure_database(pg_admin_url, name)
    try:
        migrate(url)
        set_test_passwords(url)
        imports = tmp_path_factory.mktemp("lifecycle-imports")
        (imports / "posts").mkdir(parents=True)
        (imports / "statistics").mkdir()
        write_posts(imports / "posts" / "demo.ndjson", N_POSTS, seed=11)
        write_official_statistics(imports / "statistics" / "stats.csv", seed=11)
        _run(url, imports, read_posts(imports / "posts" / "demo.ndjson"))
        terminate_sessions(pg_admin_url, name)
        yield name
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def built(pg_admin_url: str, built_template: str) -> Iterator[str]:
    """A copy of the built warehouse for one test (the tests purge and erase)."""
    with database_copy(pg_admin_url, built_template) as url:
        yield url
