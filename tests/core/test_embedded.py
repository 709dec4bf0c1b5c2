"""The embedded server enforces the logins' passwords: a server of its own in a temporary
directory (pgserver), its admin by peer authentication, a monitor_* login by scram-sha-256."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from core.db import PgParams, Role, ensure_database, set_login_passwords
from core.embedded import HBA, secure_authentication, start_embedded, stop_embedded
from core.migrate import migrate

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded(tmp_path: Path):
    pgdata = tmp_path / "pg"
    admin = start_embedded(pgdata)
    try:
        yield pgdata, admin
    finally:
        stop_embedded(pgdata)


def test_logins_need_their_password_and_the_admin_does_not(embedded) -> None:
    pgdata, admin = embedded
    assert (pgdata / "pg_hba.conf").read_text() == HBA
    url = ensure_database(admin, "monitor")
    migrate(url)
    set_login_passwords(url, {Role.BI: "the-right-one"})
    params = PgParams.from_url(url)
    conn = psycopg2.connect(params.url(user=Role.BI, password="the-right-one"))
    with conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone() == (Role.BI.value,)
    conn.close()
    for wrong in ("the-wrong-one", ""):
        with pytest.raises(psycopg2.OperationalError, match="password"):
            psycopg2.connect(params.url(user=Role.BI, password=wrong)).close()
    # The admin connects without a password (peer), and the rules are in force for the server.
    with psycopg2.connect(admin) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT type, user_name, auth_method FROM pg_hba_file_rules ORDER BY rule_number"
        )
        rules = cur.fetchall()
    conn.close()
    assert rules == [
        ("local", ["postgres"], "peer"),
        ("local", ["all"], "scram-sha-256"),
        ("host", ["all"], "scram-sha-256"),
        ("host", ["all"], "scram-sha-256"),
    ]
    # Restarting reuses the rules; nothing to rewrite.
    stop_embedded(pgdata)
    again = start_embedded(pgdata)
    assert secure_authentication(pgdata, again) is False
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(params.url(user=Role.BI, password="the-wrong-one")).close()
