"""Warehouse access: connections, URL handling, database creation and the embedded server.

The embedded default is `pgserver` (PostgreSQL 16 shipped on PyPI): it listens on a Unix socket
inside the data directory only, so it cannot clash with a PostgreSQL already on the machine.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

log = logging.getLogger(__name__)


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

    def url(self, *, dbname: str | None = None, user: str | None = None, driver: str = "") -> str:
        scheme = "postgresql+" + driver if driver else "postgresql"
        auth = quote(user or self.user)
        if self.password and user is None:
            auth += ":" + quote(self.password)
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
def connection(url: str, *, role: str | None = None) -> Iterator[psycopg2.extensions.connection]:
    """A transaction: commits on success, rolls back on error, always closes.

    `role` switches to a least-privilege role for the whole session (DESIGN.md §3), so a stage
    cannot write where its role may not, whatever login the URL carries.
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


def ensure_database(admin_url: str, dbname: str) -> str:
    """Create `dbname` on the server of `admin_url` if missing; return its URL."""
    conn = connect(admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
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


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in `pgdata`; return its admin URL.

    The server outlives this process (Airflow tasks and Superset connect to it too);
    `stop_embedded` stops it.
    """
    import pgserver  # imported lazily: only the embedded mode needs it

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    # pgserver would deregister this process at interpreter exit, logging after logging has shut
    # down; with cleanup_mode=None that is all it does, so do it now.
    atexit.unregister(server._cleanup)
    server._cleanup()
    return server.get_uri("postgres")


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    server.cleanup()
    return True
