"""Least privilege, on a real server: group roles cannot log in, each role does what it must and
nothing else (docs/privacy.md, "Roles")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest

from core.db import LOGIN_ROLES, PgParams, Role, connection, drop_database, ensure_database
from tests.conftest import TEST_LOGIN_PASSWORD


def _login(url: str, role: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(PgParams.from_url(url).url(user=role, password=TEST_LOGIN_PASSWORD))


@pytest.mark.parametrize("role", [Role.LOADER, Role.TRANSFORMER, Role.GATE, Role.PUBLISHER])
def test_group_roles_cannot_log_in(warehouse_url: str, role: Role) -> None:
    # A server that trusts the connection says NOLOGIN; one that asks for a password (the
    # embedded server) refuses first, since a group role has none.
    refused = "not permitted to log in|password authentication failed"
    with pytest.raises(psycopg2.OperationalError, match=refused):
        _login(warehouse_url, role).close()


@pytest.mark.parametrize("role", LOGIN_ROLES)
def test_readers_log_in_and_create_no_temporary_tables(warehouse_url: str, role: Role) -> None:
    conn = _login(warehouse_url, role)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("CREATE TEMP TABLE t (x int)")
    finally:
        conn.close()


@pytest.mark.parametrize(
    "relation", ["raw.posts", "ml.post_languages", "quality.gate_runs", "marts.fct_posts"]
)
def test_bi_reads_nothing_but_published(warehouse_url: str, relation: str) -> None:
    with (
        pytest.raises(psycopg2.errors.InsufficientPrivilege),
        connection(warehouse_url, role=Role.BI) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(f"SELECT 1 FROM {relation} LIMIT 1")
    assert _privilege(warehouse_url, "has_schema_privilege('monitor_bi', 'published_detail', "
                      "'USAGE')") is False  # fmt: skip


def _privilege(url: str, expression: str):
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {expression}")
        return cur.fetchone()[0]


def test_writers_have_temporary_tables_and_bi_cannot_connect_elsewhere(
    warehouse_url: str, pg_admin_url: str
) -> None:
    for role in (Role.LOADER, Role.TRANSFORMER):
        assert _privilege(warehouse_url, f"has_database_privilege('{role}', "
                          "current_database(), 'TEMPORARY')") is True  # fmt: skip
    with connection(warehouse_url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE batch (x int) ON COMMIT DROP")
    # A database created beside the warehouse (Airflow's metadata, another warehouse) is closed.
    other = f"monitor_test_{uuid.uuid4().hex[:10]}"
    url = ensure_database(pg_admin_url, other)
    try:
        for role in LOGIN_ROLES:
            with pytest.raises(psycopg2.OperationalError, match="permission denied"):
                _login(url, role).close()
    finally:
        drop_database(pg_admin_url, other)


def test_transformer_cannot_write_published(warehouse_url: str) -> None:
    assert _privilege(warehouse_url, "has_schema_privilege('monitor_transformer', 'published', "
                      "'CREATE')") is False  # fmt: skip
    assert _privilege(warehouse_url, "has_schema_privilege('monitor_publisher', 'published', "
                      "'CREATE')") is True  # fmt: skip
    with (
        pytest.raises(psycopg2.errors.InsufficientPrivilege),
        connection(warehouse_url, role=Role.TRANSFORMER) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("CREATE TABLE published.forged (x int)")


@contextmanager
def member_login(url: str, group: Role) -> Iterator[psycopg2.extensions.connection]:
    """A login of its own that is a member of `group` only (as dbt's login would be), connected
    with its password; dropped afterwards."""
    name, password = f"monitor_test_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE {group}")
    try:
        conn = psycopg2.connect(PgParams.from_url(url).url(user=name, password=password))
        try:
            yield conn
        finally:
            conn.close()
    finally:
        with connection(url) as conn, conn.cursor() as cur:
            cur.execute(f"DROP ROLE {name}")


GATE_TABLES = ("quality.gate_runs", "quality.check_results", "quality.alerts")


def test_only_the_gate_writes_its_verdicts(warehouse_url: str) -> None:
    owners = _privilege(warehouse_url, "array_agg(DISTINCT tableowner::text) FROM pg_tables "
                        "WHERE schemaname = 'quality'")  # fmt: skip
    assert owners == [Role.GATE.value]
    with connection(warehouse_url, role=Role.GATE) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO quality.gate_runs (gate_run_id, passed) VALUES ('g1', false)")
    forgeries = (
        "INSERT INTO quality.gate_runs (gate_run_id, finished_at, passed, fingerprint) "
        "VALUES ('forged', now(), true, 'x')",
        "UPDATE quality.gate_runs SET passed = true",
        "DELETE FROM quality.gate_runs",
        "INSERT INTO quality.check_results (gate_run_id, suite, check_name, target, severity, "
        "success) VALUES ('g1', 's', 'c', 't', 'blocking', true)",
        "INSERT INTO quality.alerts (message) VALUES ('x')",
        "CREATE TABLE quality.forged (x int)",
    )
    with member_login(warehouse_url, Role.TRANSFORMER) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            for table in GATE_TABLES:  # it reads them
                cur.execute(f"SELECT count(*) FROM {table}")
            for statement in forgeries:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
    # Nor through SET ROLE from the owner's login, as dbt and the pipeline connect.
    for statement in forgeries[:2]:
        with (
            pytest.raises(psycopg2.errors.InsufficientPrivilege),
            connection(warehouse_url, role=Role.TRANSFORMER) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(statement)
    rows = _privilege(warehouse_url, "array_agg(gate_run_id || ':' || passed) "
                      "FROM quality.gate_runs")  # fmt: skip
    assert rows == ["g1:false"]
