"""Retention: the text of posts older than the retention period is purged; every figure stays.

What goes (set to NULL) for the posts created before the cutoff (midnight UTC, `retention_days`
days before today): `raw.posts.text`, their keyword-in-context windows
(`ml.post_keywords.context`), and the `context` of every table outside raw and ml that copies
those windows per post and day (`marts.fct_keyword_contexts`, `published_detail.fct_keyword_contexts`,
found by their columns); and the `record` of rejected records filed before the cutoff. What
stays: the posts' rows, ids, days, cities, pseudonyms, classifications and keyword matches, so
every aggregate is unchanged, and a full rebuild gives the same marts with the same windows
purged.

raw.posts is partitioned by UTC month: each month before the cutoff is purged in its own
transaction, reading only that partition, and a month wholly before the cutoff is then sealed
(`raw.seal_posts_text`, migration 0018) so that later runs skip it. Each run is a row of
`ops.retention_runs` (cutoff, period, rows per table; never content).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from psycopg2 import sql

from core.db import Role, advisory_lock, connection, set_local_role
from core.runs import new_run_id
from core.settings import load_settings
from lifecycle.tables import act_as_owner, tables_with

log = logging.getLogger(__name__)

# Retention and erasure never run at once: both rewrite the same tables.
LIFECYCLE_LOCK = "lifecycle"


@dataclass
class RetentionRun:
    run_id: str
    retention_days: int
    cutoff: datetime
    purged: dict[str, int] = field(default_factory=dict)
    partitions: int = 0
    sealed: int = 0
    purged_from: date | None = None
    purged_until: date | None = None

    def add(self, table: str, rows: int) -> None:
        self.purged[table] = self.purged.get(table, 0) + rows


def cutoff_for(today: date, retention_days: int) -> datetime:
    """The first instant whose posts keep their text: midnight UTC, `retention_days` days ago.
    A day boundary, so that "created before the cutoff" and "day before the cutoff's day" agree
    for the post-level and the per-day tables."""
    return datetime.combine(today - timedelta(days=retention_days), time(), tzinfo=UTC)


def _months(cur) -> list[tuple[str, date, bool]]:
    """raw.posts partitions: (name, first day of the month, sealed), oldest first."""
    cur.execute(
        """
        SELECT c.relname,
               EXISTS (SELECT 1 FROM pg_trigger t
                       WHERE t.tgrelid = c.oid AND t.tgname = 'posts_text_retired')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'raw.posts'::regclass
        """
    )
    months = []
    for name, sealed in cur.fetchall():
        year, month = name.removeprefix("posts_").split("_")
        months.append((name, date(int(year), int(month), 1), sealed))
    return sorted(months, key=lambda m: m[1])


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def purge(
    url: str, *, retention_days: int | None = None, today: date | None = None
) -> RetentionRun:
    """Purge the text older than `retention_days` (default MONITOR_RETENTION_DAYS) as of
    `today` (default: today, UTC); log and return what went."""
    days = load_settings().retention_days if retention_days is None else retention_days
    if days < 1:
        raise ValueError(f"retention_days={days}: must be at least 1")
    cutoff = cutoff_for(today or datetime.now(UTC).date(), days)
    run = RetentionRun(new_run_id("retention"), days, cutoff)
    with advisory_lock(url, LIFECYCLE_LOCK, on_wait="waiting for another retention or erasure"):
        with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO ops.retention_runs (run_id, retention_days, cutoff) "
                "VALUES (%s, %s, %s)",
                (run.run_id, days, cutoff),
            )
        try:
            _purge(url, run)
        except Exception as exc:
            with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
                cur.execute(
                    "UPDATE ops.retention_runs SET status = 'failed', finished_at = now(), "
                    "error = %s WHERE run_id = %s",
                    (type(exc).__name__, run.run_id),  # the type only: messages can quote rows
                )
            raise
    log.info(
        "retention %s: text before %s purged (%s), %d partitions, %d sealed",
        run.run_id,
        cutoff.date(),
        run.purged,
        run.partitions,
        run.sealed,
    )
    return run


def _purge(url: str, run: RetentionRun) -> None:
    cutoff = run.cutoff
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        months = _months(cur)
    for name, first_day, sealed in months:
        if sealed or first_day >= cutoff.date():
            continue
        run.partitions += 1
        part = sql.Identifier("raw", name)
        # One transaction per month: a crash keeps the months done, and a re-run finds the rest.
        # The partition is written directly, not through raw.posts: only the text changes, so
        # the parent's reference checks (migration 0012) have nothing to check.
        with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "UPDATE ml.post_keywords k SET context = NULL FROM {} p "
                    "WHERE p.post_id = k.post_id AND p.created_at < %s "
                    "AND p.text IS NOT NULL AND k.context IS NOT NULL"
                ).format(part),
                (cutoff,),
            )
            run.add("ml.post_keywords", cur.rowcount)
            cur.execute(
                sql.SQL(
                    "WITH gone AS (UPDATE {} SET text = NULL "
                    "WHERE created_at < %s AND text IS NOT NULL RETURNING created_at) "
                    "SELECT count(*), min(created_at), max(created_at) FROM gone"
                ).format(part),
                (cutoff,),
            )
            n, first, last = cur.fetchone()
            run.add("raw.posts", n)
            if n:
                first_day_purged = first.astimezone(UTC).date()
                last_day_purged = last.astimezone(UTC).date()
                run.purged_from = min(run.purged_from or first_day_purged, first_day_purged)
                run.purged_until = max(run.purged_until or last_day_purged, last_day_purged)
            if _next_month(first_day) <= cutoff.date():
                cur.execute("SELECT raw.seal_posts_text(%s)", (name,))
                run.sealed += bool(cur.fetchone()[0])
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE raw.rejected_records SET record = NULL "
            "WHERE rejected_at < %s AND record IS NOT NULL",
            (cutoff,),
        )
        run.add("raw.rejected_records", cur.rowcount)
    # The keyword-context copies that dbt and publish made of the windows, per post and day.
    with connection(url) as conn, conn.cursor() as cur:
        for table in tables_with(cur, "post_id", "day", "context", exclude_schemas=("raw", "ml")):
            act_as_owner(cur, table)
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET context = NULL WHERE day < %s AND context IS NOT NULL"
                ).format(table.ident),
                (cutoff.date(),),
            )
            run.add(table.qualified, cur.rowcount)
        set_local_role(cur, Role.LOADER)  # the ops.* logs are the loader's (migration 0018)
        cur.execute(
            "UPDATE ops.retention_runs SET status = 'succeeded', finished_at = now(), "
            "purged_from = %s, purged_until = %s, partitions = %s, sealed = %s, purged = %s "
            "WHERE run_id = %s",
            (
                run.purged_from,
                run.purged_until,
                run.partitions,
                run.sealed,
                json.dumps(run.purged, sort_keys=True),
                run.run_id,
            ),
        )
