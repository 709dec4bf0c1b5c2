"""Throwaway warehouses copied from a built one: a fixture builds, gates and publishes once, ends
its sessions, and each module or test gets a copy (CREATE DATABASE ... TEMPLATE takes seconds,
a build most of a minute)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg2 import sql

from core.db import connect, drop_database, ensure_database


def terminate_sessions(admin_url: str, dbname: str) -> None:
    """End every session on `dbname` (the gate's SQLAlchemy pool keeps some open), so that it
    can serve as a template."""
    conn = connect(admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
    finally:
        conn.close()


def copy_database(admin_url: str, template: str, name: str) -> str:
    """CREATE DATABASE `name` TEMPLATE `template`, with the template's database privileges
    (CONNECT, TEMPORARY: a copy starts with PostgreSQL's defaults, not the migrations' grants);
    its URL."""
    conn = connect(admin_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            target = sql.Identifier(name)
            cur.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(target, sql.Identifier(template))
            )
            cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(target))
            cur.execute(
                "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
                "a.privilege_type FROM pg_database AS d, aclexplode(d.datacl) AS a "
                "WHERE d.datname = %s",
                (template,),
            )
            for grantee, privilege in cur.fetchall():
                who = (
                    sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee.strip('"'))
                )
                cur.execute(
                    sql.SQL("GRANT {} ON DATABASE {} TO {}").format(sql.SQL(privilege), target, who)
                )
    finally:
        conn.close()
    return ensure_database(admin_url, name)


@contextmanager
def database_copy(admin_url: str, template: str) -> Iterator[str]:
    """A fresh copy of `template` for the block; its URL. Dropped afterwards."""
    name = f"monitor_test_{uuid.uuid4().hex[:10]}"
    url = copy_database(admin_url, template, name)
    try:
        yield url
    finally:
        drop_database(admin_url, name)
