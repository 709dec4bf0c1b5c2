"""A built warehouse for the lifecycle tests: generated posts imported, classified from the
generator's labels (as tests/dbt/test_marts does), dbt built, gated and published."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg2
import pytest

from demo.generate import write_official_statistics, write_posts
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


@pytest.fixture
def built(warehouse_url: str, tmp_path: Path):
    imports = tmp_path / "imports"
    (imports / "posts").mkdir(parents=True)
    (imports / "statistics").mkdir()
    write_posts(imports / "posts" / "demo.ndjson", N_POSTS, seed=11)
    write_official_statistics(imports / "statistics" / "stats.csv", seed=11)
    _run(warehouse_url, imports, read_posts(imports / "posts" / "demo.ndjson"))
    return warehouse_url
