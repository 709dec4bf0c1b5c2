"""A published warehouse for the extract tests: built once per session as in tests/dbt (demo
posts, the generator's labels as classifications, dbt build, gate, publish with k = 10), then
copied for each test with CREATE DATABASE ... TEMPLATE, so every test starts from the same
publication and an empty delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import drop_database, ensure_database
from core.migrate import migrate
from demo.generate import write_official_statistics, write_posts
from monitor.transform import ensure_manifest
from tests.databases import database_copy, terminate_sessions
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
        terminate_sessions(pg_admin_url, name)
        yield name, posts
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def published_url(
    pg_admin_url: str, published_template, tmp_path: Path, monkeypatch
) -> Iterator[str]:
    template, _ = published_template
    monkeypatch.setenv("MONITOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MONITOR_MIN_CELL_SIZE", str(K))
    with database_copy(pg_admin_url, template) as url:
        yield url


@pytest.fixture
def demo_posts(published_template) -> list[dict]:
    return published_template[1]
