"""Shared fixtures: a real PostgreSQL for every test that needs one.

`MONITOR_TEST_PG_URL` (an admin URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres) selects
an existing server; without it the tests start the embedded server (pgserver) under
`.local/test-pg`, as a user's fresh machine would. Each test gets its own database, migrated,
and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import LOGIN_ROLES, drop_database, ensure_database, set_login_passwords
from core.embedded import start_embedded, stop_embedded
from core.migrate import migrate
from core.settings import REPO_ROOT

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TEST_PEPPER = "test-pepper-0123456789abcdef"
# The reader logins' password on a test server (the embedded server requires one; roles and
# their passwords are the server's, shared by every test database on it).
TEST_LOGIN_PASSWORD = "test-login-password-0123"


def set_test_passwords(url: str) -> None:
    set_login_passwords(url, dict.fromkeys(LOGIN_ROLES, TEST_LOGIN_PASSWORD))


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("MONITOR_TEST_PG_URL")
    if url:
        yield url
        return
    pgdata = REPO_ROOT / ".local" / "test-pg"
    was_running = (pgdata / "postmaster.pid").exists()
    yield start_embedded(pgdata)
    if not was_running:  # stop what this session started; leave a server someone else runs
        stop_embedded(pgdata)


@pytest.fixture
def fresh_database(pg_admin_url: str) -> Iterator[str]:
    name = f"monitor_test_{uuid.uuid4().hex[:10]}"
    url = ensure_database(pg_admin_url, name)
    try:
        yield url
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def warehouse_url(fresh_database: str) -> str:
    migrate(fresh_database)
    set_test_passwords(fresh_database)
    return fresh_database


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party test data not present at {SHARED_DATA} (see docs/test-data.md)")
    return SHARED_DATA
