"""Warehouse access: URL handling for TCP and Unix-socket URLs (the embedded server uses a
socket), the roles, and advisory locks on a real PostgreSQL."""

import threading
import time

import pytest

from core.db import (
    LockBusy,
    PgParams,
    Role,
    acquire_lock,
    advisory_lock,
    connection,
    redact,
    transaction_lock,
)


def test_socket_url_round_trip() -> None:
    url = "postgresql://postgres:@/monitor?host=/srv/monitor/.local/pg"
    p = PgParams.from_url(url)
    assert (p.host, p.port, p.user, p.dbname) == (
        "/srv/monitor/.local/pg",
        5432,
        "postgres",
        "monitor",
    )
    again = PgParams.from_url(p.url(driver="psycopg2"))
    assert again == p
    assert p.url(user="monitor_bi").startswith("postgresql://monitor_bi@/monitor?host=")


def test_tcp_url_with_password_is_redacted() -> None:
    p = PgParams.from_url("postgresql+psycopg2://loader:s3cret@db.example:6543/wh")
    assert (p.host, p.port, p.user, p.password, p.dbname) == (
        "db.example",
        6543,
        "loader",
        "s3cret",
        "wh",
    )
    assert "s3cret" not in redact(p.url())
    assert p.url(user="monitor_bi") == "postgresql://monitor_bi@db.example:6543/wh"


def test_roles_are_the_migrations_roles(warehouse_url: str) -> None:
    with connection(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'monitor\\_%'")
        existing = {r[0] for r in cur.fetchall()}
    assert {r.value for r in Role} <= existing
    with connection(warehouse_url, role=Role.BI) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == "monitor_bi"


def test_advisory_lock_excludes_a_second_holder_until_released(warehouse_url: str) -> None:
    with advisory_lock(warehouse_url, "test:lock"):
        started = time.monotonic()
        with pytest.raises(LockBusy, match="test:lock"):
            acquire_lock(warehouse_url, "test:lock", wait_s=1.0)
        assert time.monotonic() - started >= 1.0  # it waited before giving up
        # another name is another lock
        acquire_lock(warehouse_url, "test:other", wait_s=0).close()
    acquire_lock(warehouse_url, "test:lock", wait_s=0).close()  # released with the block


def test_a_waiting_holder_gets_the_lock_when_it_is_released(warehouse_url: str) -> None:
    holder = acquire_lock(warehouse_url, "test:handover")
    got = threading.Event()

    def wait_for_it() -> None:
        with advisory_lock(warehouse_url, "test:handover"):
            got.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    time.sleep(0.5)
    assert not got.is_set()
    holder.close()  # a dead session releases its locks too
    waiter.join(timeout=10)
    assert got.is_set()


def test_transaction_lock_ends_with_the_transaction(warehouse_url: str) -> None:
    with connection(warehouse_url) as conn, conn.cursor() as cur:
        transaction_lock(cur, "test:xact")
        with pytest.raises(LockBusy):
            acquire_lock(warehouse_url, "test:xact", wait_s=0)
    acquire_lock(warehouse_url, "test:xact", wait_s=0).close()
