"""Fixtures of the statistics tests: a replay HTTP server on 127.0.0.1, configurations pointing
the connectors at it, and the shared third-party Eurostat and reference files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from extractors.statistics.config import StatisticsConfig, load_config
from tests.extractors.statistics.replay import ReplayServer


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    s = ReplayServer().start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def project_config() -> StatisticsConfig:
    return load_config()


def local_config(base_url: str, **overrides: object) -> StatisticsConfig:
    """The project's configuration with Eurostat and PxWeb pointed at the replay server, fast
    polling and no waiting between retries."""
    cfg = load_config().model_dump()
    cfg["eurostat"].update(
        base_url=base_url, async_poll_seconds=0, async_max_wait_seconds=5, retries=2
    )
    for t in cfg["pxweb"]["tables"]:
        t["url"] = base_url + "/pxweb/" + t["id"]
    cfg["pxweb"]["retries"] = 2
    for key, value in overrides.items():
        cfg[key] = value
    return StatisticsConfig.model_validate(cfg)


@pytest.fixture(scope="session")
def eurostat_dir(shared_data: Path) -> Path:
    d = shared_data / "eurostat"
    if not d.is_dir():
        pytest.skip(f"real Eurostat responses not present at {d} (see docs/test-data.md)")
    return d


@pytest.fixture(scope="session")
def reference_dir(shared_data: Path) -> Path:
    d = shared_data / "reference"
    if not d.is_dir():
        pytest.skip(f"reference gazetteer and MIPEX files not present at {d}")
    return d
