"""Versioned schema migrations: `core/migrations/NNNN_name.sql`, applied once each, in order.

Each file runs in its own transaction together with its row in `public.schema_migrations`, under
an advisory lock so two processes starting at once cannot apply a migration twice.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.db import advisory_lock, connect

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
MIGRATION_LOCK = "migrations"  # shared by every migrating process


def available() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate(url: str) -> list[str]:
    """Apply pending migrations; return the versions applied now (empty when up to date)."""
    with advisory_lock(url, MIGRATION_LOCK):
        return _apply_pending(url)


def _apply_pending(url: str) -> list[str]:
    applied_now: list[str] = []
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.commit()
            cur.execute("SELECT version FROM public.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for path in available():
                version = path.stem
                if version in done:
                    continue
                log.info("applying migration %s", version)
                cur.execute(path.read_text())
                cur.execute(
                    "INSERT INTO public.schema_migrations (version) VALUES (%s)", (version,)
                )
                conn.commit()
                applied_now.append(version)
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return applied_now
