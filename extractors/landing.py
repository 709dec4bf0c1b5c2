"""Landing in `raw`: extraction runs, posts by COPY + upsert, rejections, coverage counts.

Every source lands through here, so the rules hold for all of them:
- posts are COPYed into a temporary table and upserted on the natural key (`source`,
  `external_id`): a re-read post adds nothing, an edited one (new content hash) is updated;
- the same statement maintains the coverage registry (`raw.source_coverage` first/last post and
  totals, `raw.source_coverage_daily` counts per UTC day, language and city) from the rows it
  actually inserted, so the counts are exact however often a page is re-read;
- rejected records land with their reason and position, once per (source, position, record);
- the caller owns the transaction: a page, its rejections and its cursor commit together.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg2.errors
from psycopg2.extensions import connection as Connection
from psycopg2.extras import execute_values

from extractors.records import Post, record_hash, scrubbed_record_text, to_json
from monitor.warehouse import connection

log = logging.getLogger(__name__)

LOADER_ROLE = "monitor_loader"
POST_COLUMNS = (
    "source",
    "external_id",
    "platform",
    "created_at",
    "author_pseudonym",
    "text",
    "lang_hint",
    "city_hint",
    "country_hint",
    "payload",
    "content_hash",
)
_COLS = ", ".join(POST_COLUMNS)
_BATCH_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS posts_batch (source text, external_id text, platform text, "
    "created_at timestamptz, author_pseudonym text, text text, lang_hint text, city_hint text, "
    "country_hint text, payload jsonb, content_hash text, run_id text) ON COMMIT DELETE ROWS"
)
# One statement: upsert, then coverage from exactly the rows inserted now (xmax = 0 marks an
# insert; an update of an edited post is not a new post and is not counted again).
_UPSERT = f"""
WITH upserted AS (
    INSERT INTO raw.posts ({_COLS}, run_id)
    SELECT {_COLS}, run_id FROM posts_batch
    ON CONFLICT ON CONSTRAINT posts_natural_key DO UPDATE SET
        text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,
        lang_hint = EXCLUDED.lang_hint, city_hint = EXCLUDED.city_hint,
        country_hint = EXCLUDED.country_hint, payload = EXCLUDED.payload,
        run_id = EXCLUDED.run_id, updated_at = now()
    WHERE raw.posts.content_hash <> EXCLUDED.content_hash
    RETURNING source, platform, created_at, lang_hint, city_hint, (xmax = 0) AS inserted
), daily AS (
    INSERT INTO raw.source_coverage_daily AS d (source, day, lang, city, posts)
    SELECT source, (created_at AT TIME ZONE 'UTC')::date, lang_hint, city_hint, count(*)
    FROM upserted WHERE inserted
    GROUP BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT source_coverage_daily_key DO UPDATE SET posts = d.posts + EXCLUDED.posts
), totals AS (
    INSERT INTO raw.source_coverage AS c (source, platform, first_post_at, last_post_at, posts_total)
    SELECT source, min(platform), min(created_at), max(created_at), count(*)
    FROM upserted WHERE inserted
    GROUP BY source
    ON CONFLICT (source) DO UPDATE SET
        platform = coalesce(c.platform, EXCLUDED.platform),
        first_post_at = least(c.first_post_at, EXCLUDED.first_post_at),
        last_post_at = greatest(c.last_post_at, EXCLUDED.last_post_at),
        posts_total = c.posts_total + EXCLUDED.posts_total,
        updated_at = now()
)
SELECT count(*) FILTER (WHERE inserted), count(*) FROM upserted
"""


@dataclass
class ImportStats:
    """Figures of one extraction run (a file import or one source's run)."""

    run_id: str
    records_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejection_reasons: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        key = reason.split(":")[0]
        self.rejection_reasons[key] = self.rejection_reasons.get(key, 0) + 1


@dataclass(frozen=True)
class Rejection:
    position: str
    reason: str
    record: str | bytes


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def start_run(
    url: str,
    *,
    source: str,
    location: str,
    batch_id: str | None = None,
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> str:
    """Record the start of an extraction run; return its id."""
    run_id = new_run_id()
    with connection(url, role=LOADER_ROLE) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, batch_id, window_start, "
            "window_end) VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, source, location, batch_id, window[0], window[1]),
        )
    return run_id


def finish_run(url: str, stats: ImportStats, status: str, error: str | None = None) -> None:
    with connection(url, role=LOADER_ROLE) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE raw.import_runs SET finished_at = now(), status = %s, records_read = %s, "
            "inserted = %s, updated = %s, unchanged = %s, rejected = %s, error = %s "
            "WHERE run_id = %s",
            (
                status,
                stats.records_read,
                stats.inserted,
                stats.updated,
                stats.unchanged,
                stats.rejected,
                error[:2000] if error else None,
                stats.run_id,
            ),
        )


# COPY text format: backslash, tab, newline and carriage return are escaped. `str.translate`
# does all four in one pass; most values need none, which `_NEEDS_ESCAPE` tells cheaply.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _esc(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _opt(value: str | None) -> str:
    return "\\N" if value is None else _esc(value)


def copy_rows(posts: Iterable[Post], run_id: str) -> str:
    """The COPY text-format rows of `posts` (columns `POST_COLUMNS`, then `run_id`)."""
    lines = []
    append = lines.append
    tail = _esc(run_id)
    for p in posts:
        append(
            "\t".join(
                (
                    _esc(p.source),
                    _esc(p.external_id),
                    _esc(p.platform),
                    p.created_at.isoformat(),
                    "\\N" if p.author_pseudonym is None else p.author_pseudonym,
                    _esc(p.text),
                    _opt(p.lang_hint),
                    _opt(p.city_hint),
                    _opt(p.country_hint),
                    _esc(to_json(p.payload)) if p.payload else "{}",
                    p.content_hash,
                    tail,
                )
            )
        )
    append("")
    return "\n".join(lines)


def unique_posts(posts: Iterable[Post]) -> list[Post]:
    """One post per natural key, the last version winning (as it would across batches); a
    batch must not hold a key twice, or the upsert would touch a row twice."""
    return list({(p.source, p.external_id): p for p in posts}.values())


@dataclass
class CopyBatch:
    """Posts ready to land: COPY rows with unique natural keys, and what they would add to the
    coverage registry if they are all new (used when they are COPYed straight in)."""

    rows: str
    count: int
    daily: dict[tuple[str, date, str | None, str | None], int]
    sources: dict[str, tuple[str, datetime, datetime, int]]


def copy_batch(posts: Iterable[Post], run_id: str) -> CopyBatch:
    unique = unique_posts(posts)
    daily: Counter[tuple[str, date, str | None, str | None]] = Counter(
        (p.source, p.created_at.date(), p.lang_hint, p.city_hint) for p in unique
    )
    sources: dict[str, tuple[str, datetime, datetime, int]] = {}
    for p in unique:
        known = sources.get(p.source)
        if known is None:
            sources[p.source] = (p.platform, p.created_at, p.created_at, 1)
        else:
            platform, first, last, n = known
            sources[p.source] = (
                min(platform, p.platform),
                min(first, p.created_at),
                max(last, p.created_at),
                n + 1,
            )
    return CopyBatch(copy_rows(unique, run_id), len(unique), dict(daily), sources)


def land_posts(conn: Connection, run_id: str, posts: Sequence[Post]) -> tuple[int, int, int]:
    """Upsert `posts`; return (inserted, updated, unchanged)."""
    if not posts:
        return 0, 0, 0
    return land_batch(conn, run_id, copy_batch(posts, run_id))[:3]


def land_batch(
    conn: Connection, run_id: str, batch: CopyBatch, *, direct: bool = False
) -> tuple[int, int, int, bool]:
    """Land a batch; return (inserted, updated, unchanged, landed directly).

    `direct` first tries to COPY the rows straight into `raw.posts` (about 30 % less database
    work than the upsert, for batches of new posts: a first import); any natural key already
    there makes it roll back to a savepoint and upsert instead. Either way the result is the
    same rows and the same coverage counts.
    """
    if not batch.count:
        return 0, 0, 0, False
    with conn.cursor() as cur:
        if direct:
            cur.execute("SAVEPOINT direct_copy")
            try:
                cur.copy_expert(
                    f"COPY raw.posts ({_COLS}, run_id) FROM STDIN", io.StringIO(batch.rows)
                )
            except psycopg2.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT direct_copy")
            else:
                cur.execute("RELEASE SAVEPOINT direct_copy")
                _count_new_posts(cur, batch)
                return batch.count, 0, 0, True
        cur.execute(_BATCH_TABLE)
        cur.copy_expert(f"COPY posts_batch ({_COLS}, run_id) FROM STDIN", io.StringIO(batch.rows))
        cur.execute(_UPSERT)
        inserted, changed = cur.fetchone()
        cur.execute("TRUNCATE posts_batch")  # the caller may land more before it commits
    return inserted, changed - inserted, batch.count - changed, False


def _count_new_posts(cur: Any, batch: CopyBatch) -> None:
    execute_values(
        cur,
        """
        INSERT INTO raw.source_coverage_daily AS d (source, day, lang, city, posts) VALUES %s
        ON CONFLICT ON CONSTRAINT source_coverage_daily_key DO UPDATE SET posts = d.posts + EXCLUDED.posts
        """,
        [(*key, n) for key, n in batch.daily.items()],
    )
    execute_values(
        cur,
        """
        INSERT INTO raw.source_coverage AS c (source, platform, first_post_at, last_post_at, posts_total)
        VALUES %s
        ON CONFLICT (source) DO UPDATE SET
            platform = coalesce(c.platform, EXCLUDED.platform),
            first_post_at = least(c.first_post_at, EXCLUDED.first_post_at),
            last_post_at = greatest(c.last_post_at, EXCLUDED.last_post_at),
            posts_total = c.posts_total + EXCLUDED.posts_total,
            updated_at = now()
        """,
        [(source, *figures) for source, figures in batch.sources.items()],
    )


def _copy_buffer(rows: Iterable[tuple[Any, ...]]) -> io.StringIO:
    return io.StringIO(
        "".join("\t".join(_opt(v) for v in row) + "\n" for row in rows),
    )


def land_rejections(
    conn: Connection, run_id: str, source: str, rejections: Sequence[Rejection]
) -> None:
    """File rejected records (scrubbed); the same record at the same position is filed once."""
    if not rejections:
        return
    rows = []
    for r in rejections:
        record = scrubbed_record_text(r.record)
        rows.append((run_id, source, r.position, r.reason[:2000], record, record_hash(record)))
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS rejected_batch (run_id text, source text, "
            "position text, reason text, record text, record_hash text) ON COMMIT DELETE ROWS"
        )
        cur.copy_expert("COPY rejected_batch FROM STDIN", _copy_buffer(rows))
        cur.execute(
            "INSERT INTO raw.rejected_records (run_id, source, position, reason, record, "
            "record_hash) SELECT * FROM rejected_batch "
            "ON CONFLICT ON CONSTRAINT rejected_records_once DO NOTHING"
        )
        cur.execute("TRUNCATE rejected_batch")


def land(
    conn: Connection,
    stats: ImportStats,
    source: str,
    batch: CopyBatch,
    rejections: Sequence[Rejection],
    *,
    direct: bool = False,
) -> bool:
    """Land one batch in the caller's transaction and add its figures to `stats`; return
    whether the posts were COPYed straight in (see `land_batch`)."""
    inserted, updated, unchanged, landed_directly = land_batch(
        conn, stats.run_id, batch, direct=direct
    )
    stats.inserted += inserted
    stats.updated += updated
    stats.unchanged += unchanged
    land_rejections(conn, stats.run_id, source, rejections)
    return landed_directly
