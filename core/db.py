"""Warehouse access: URLs, connections under a least-privilege role, advisory locks, database
creation, and the embedded server.

The roles are created by the first migration; `Role` names them once for every stage. The
embedded default is `pgserver` (PostgreSQL 16 shipped on PyPI): it listens on a Unix socket
inside the data directory only, so it cannot clash with a PostgreSQL already on the machine.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

log = logging.getLogger(__name__)


class Role(StrEnum):
    """The warehouse's roles: what each stage and reader may do."""

    LOADER = "monitor_loader"  # writes raw.* and ml.* (ingestion, classification)
    TRANSFORMER = "monitor_transformer"  # dbt: staging.*, intermediate.*, marts.*
    GATE = "monitor_gate"  # the quality gate: reads marts.*, the only writer of quality.*
    PUBLISHER = "monitor_publisher"  # publish: the only writer of published.*, published_detail.*
    BI = "monitor_bi"  # Superset: reads published.* only
    EXTRACTS = "monitor_extracts"  # scheduled extracts: reads published.* only
    DETAIL = "monitor_detail"  # reads published_detail.* (post-level detail)


# The roles that log in (with a password); every other role is a NOLOGIN group.
LOGIN_ROLES = (Role.BI, Role.EXTRACTS, Role.DETAIL)


class LockBusy(RuntimeError):
    """Another session holds the advisory lock and did not release it in time."""


@dataclass(frozen=True)
class PgParams:
    """A PostgreSQL URL split into the keyword parameters libpq, dbt and Superset understand."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> PgParams:
        parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://", 1))
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"not a PostgreSQL URL: {redact(url)}")
        query = parse_qs(parts.query)
        # A Unix-socket URL carries the socket directory as ?host=/path (libpq convention).
        host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
        return cls(
            host=host,
            port=int(query.get("port", [parts.port or 5432])[0]),
            user=parts.username or "postgres",
            password=parts.password or "",
            dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        )

    def url(
        self,
        *,
        dbname: str | None = None,
        user: str | None = None,
        password: str | None = None,
        driver: str = "",
    ) -> str:
        """This server's URL; another `user` gets `password` (never this URL's own)."""
        scheme = "postgresql+" + driver if driver else "postgresql"
        auth = quote(user or self.user)
        secret = password if user is not None else self.password
        if secret:
            auth += ":" + quote(secret)
        db = dbname or self.dbname
        if self.host.startswith("/"):
            query = urlencode({"host": self.host, "port": self.port})
            return urlunsplit((scheme, f"{auth}@", f"/{db}", query, ""))
        return f"{scheme}://{auth}@{self.host}:{self.port}/{db}"


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def connect(url: str, *, autocommit: bool = False) -> psycopg2.extensions.connection:
    p = PgParams.from_url(url)
    conn = psycopg2.connect(
        host=p.host,
        port=p.port,
        user=p.user,
        password=p.password or None,
        dbname=p.dbname,
        application_name="monitor",
    )
    conn.autocommit = autocommit
    return conn


@contextlib.contextmanager
def connection(url: str, *, role: Role | None = None) -> Iterator[psycopg2.extensions.connection]:
    """A transaction: commits on success, rolls back on error, always closes.

    `role` switches to a least-privilege role for the whole session (`SET ROLE`: the group roles
    cannot log in), so a stage cannot write where its role may not, whatever login the URL
    carries.
    """
    conn = connect(url)
    try:
        if role:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def acquire_lock(
    url: str, name: str, *, wait_s: float | None = None, on_wait: str | None = None
) -> psycopg2.extensions.connection:
    """Take the session advisory lock `name` on a connection of its own and return that
    connection: closing it releases the lock (also when the process dies).

    `wait_s=None` waits as long as the holder needs; otherwise the lock is retried every 0.5 s
    and `LockBusy` raised after `wait_s` seconds. `on_wait` is logged once when the lock is held
    elsewhere.
    """
    conn = connect(url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,))
            if cur.fetchone()[0]:
                return conn
            if on_wait:
                log.info("%s", on_wait)
            if wait_s is None:
                cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
                return conn
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                time.sleep(0.5)
                cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,))
                if cur.fetchone()[0]:
                    return conn
    except BaseException:
        conn.close()
        raise
    conn.close()
    raise LockBusy(f"advisory lock {name!r} is held by another session")


@contextlib.contextmanager
def advisory_lock(
    url: str, name: str, *, wait_s: float | None = None, on_wait: str | None = None
) -> Iterator[None]:
    """Hold the session advisory lock `name` for the block (see `acquire_lock`)."""
    conn = acquire_lock(url, name, wait_s=wait_s, on_wait=on_wait)
    try:
        yield
    finally:
        conn.close()


def transaction_lock(cur: psycopg2.extensions.cursor, name: str) -> None:
    """Take the advisory lock `name` until the current transaction ends."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))


def set_login_passwords(admin_url: str, passwords: Mapping[Role, str]) -> None:
    """Give each login role its password (idempotent; run after the migrations)."""
    unknown = set(passwords) - set(LOGIN_ROLES)
    if unknown:
        raise ValueError(f"not login roles: {', '.join(sorted(unknown))}")
    conn = connect(admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            for role, password in passwords.items():
                if not password:
                    raise ValueError(f"empty password for {role}")
                cur.execute(
                    sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
    finally:
        conn.close()


def ensure_database(admin_url: str, dbname: str) -> str:
    """Create `dbname` on the server of `admin_url` if missing; return its URL.

    A new database is closed to PUBLIC (CONNECT, TEMPORARY): the BI logins connect only where
    the migrations grant it, never to Airflow's metadata or another warehouse on the server.
    """
    conn = connect(admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                name = sql.Identifier(dbname)
                cur.execute(sql.SQL("CREATE DATABASE {}").format(name))
                cur.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(name)
                )
                log.info("created database %s", dbname)
    finally:
        conn.close()
    return PgParams.from_url(admin_url).url(dbname=dbname)


def drop_database(admin_url: str, dbname: str) -> None:
    conn = connect(admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
    finally:
        conn.close()


def set_local_role(cur: psycopg2.extensions.cursor, role: str | None) -> None:
    """Act as `role` until the transaction ends (`SET LOCAL ROLE`), or as the login again
    (None). For a task that writes tables of several roles in one transaction, each as its
    owner; the login must be a member of `role`."""
    if role is None:
        cur.execute("SET LOCAL ROLE NONE")
    else:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
