"""The dbt project's manifest, parsed once per session (no warehouse needed)."""

from __future__ import annotations

import pytest

from tests.dbt.project import Manifest, parse_manifest


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return parse_manifest(tmp_path_factory.mktemp("dbt-target"))
