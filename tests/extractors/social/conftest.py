"""Fixtures of the extractor tests: the recorded wire formats, sources files, table helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml

from extractors.social.config import Source, load_config

# Short waits: fault tests exercise the retry logic, not the clock.
FAST_HTTP = {
    "timeout_s": 1.0,
    "max_attempts": 4,
    "backoff_base_s": 0.01,
    "backoff_max_s": 0.05,
    "max_wait_s": 5,
}


@pytest.fixture(scope="session")
def wire(shared_data: Path) -> Path:
    path = shared_data / "wire"
    if not path.is_dir():
        pytest.skip(f"recorded API responses not present at {path} (see docs/test-data.md)")
    return path


def write_config(
    folder: Path, sources: list[dict[str, Any]], defaults: dict[str, Any] | None = None
) -> Path:
    path = folder / "sources.yml"
    document = {
        "version": 1,
        "defaults": {"http": FAST_HTTP, **(defaults or {})},
        "sources": sources,
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_source(tmp_path: Path) -> Callable[..., Source]:
    """A validated `Source` from a source mapping (as in config/sources.yml)."""

    def make(defaults: dict[str, Any] | None = None, **source: Any) -> Source:
        config = load_config(write_config(tmp_path, [source], defaults))
        return config.sources[0]

    return make


def rows(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query, params or None)  # no params: '%' is literal
        return cur.fetchall()


def scalar(url: str, query: str, params: tuple = ()) -> Any:
    return rows(url, query, params)[0][0]
