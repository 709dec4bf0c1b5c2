"""Landing in `raw`: extraction runs, posts by COPY + upsert, rejections, coverage counts.

Every source lands through here, so the rules hold for all of them:
- `raw.posts` is partitioned by UTC month of `created_at` (migration 0009); its keys live in the
  unpartitioned registry `raw.post_keys` (natural key, post ids, target of the ml foreign keys).
  Each batch first makes sure its months' partitions exist (`raw.ensure_post_partitions`);
- posts are COPYed into a temporary table and upserted on the natural key (`source`,
  `external_id`) through the registry: a re-read post adds nothing, an edited one (new text,
  hence content hash, or new language, city or country hints or payload counts and hashtags)
  is updated; its `created_at`, hence its partition, stays as first landed;
- the same statement maintains the coverage registry (`raw.source_coverage` first/last post and
  totals, `raw.source_coverage_daily` counts per UTC day, language and city) from the rows it
  actually inserted, so the counts are exact however often a page is re-read;
- rejected records land with their reason, position, allow-listed fields and a keyed hash
  (`extractors.social.records.rejected_fields`), once per (source, position, hash);
- the caller owns the transaction: a page, its rejections and its cursor commit together.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
import psycopg2.errors
from psycopg2.extensions import connection as Connection

from core.copy import NULL, copy_data, copy_text
from core.copy import escape as _esc
from core.db import Role, connection
from core.runs import new_run_id
from extractors.social.records import Post, to_json
from extractors.social.redact import scrub

log = logging.getLogger(__name__)

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
    "CREATE TEMP TABLE IF NOT EXISTS posts_batch (post_id bigint, source text, external_id text, "
    "platform text, created_at timestamptz, author_pseudonym text, text text, lang_hint text, "
    "city_hint text, country_hint text, payload jsonb, content_hash text, run_id text) "
    "ON COMMIT DELETE ROWS"
)
# Registry first: new natural keys get their post id (the anti-join keeps re-read posts from
# burning sequence values; ON CONFLICT covers a concurrent writer of the same key).
_NEW_KEYS = """
INSERT INTO raw.post_keys (source, external_id, created_at)
SELECT b.source, b.external_id, b.created_at FROM posts_batch b
WHERE NOT EXISTS (
    SELECT 1 FROM raw.post_keys k WHERE k.source = b.source AND k.external_id = b.external_id
)
ON CONFLICT ON CONSTRAINT post_keys_natural_key DO NOTHING
"""


# How new posts add to the coverage registry, from the rows of `select` (the upsert's CTEs and
# the direct COPY's statements share these).
def _add_daily(select: str) -> str:
    return f"""
    INSERT INTO raw.source_coverage_daily AS d (source, day, lang, city, posts)
    {select}
    ON CONFLICT ON CONSTRAINT source_coverage_daily_key DO UPDATE SET posts = d.posts + EXCLUDED.posts"""


def _add_totals(select: str) -> str:
    return f"""
    INSERT INTO raw.source_coverage AS c (source, platform, first_post_at, last_post_at, posts_total)
    {select}
    ON CONFLICT (source) DO UPDATE SET
        platform = coalesce(c.platform, EXCLUDED.platform),
        first_post_at = least(c.first_post_at, EXCLUDED.first_post_at),
        last_post_at = greatest(c.last_post_at, EXCLUDED.last_post_at),
        posts_total = c.posts_total + EXCLUDED.posts_total,
        updated_at = now()"""


# Then one statement: upsert the posts under their registry id and created_at (a separate
# statement, so it sees keys a concurrent writer committed meanwhile; the keys are locked as a
# foreign key would lock them, so a concurrent erasure waits, migration 0012), and coverage from
# exactly the rows inserted now (an update of an edited post is not a new post and is not
# counted again).
# An insert never sets updated_at and an update always does: that tells them apart (the system
# column xmax that did so before cannot be returned from a partitioned table).
_UPSERT = f"""
WITH upserted AS (
    INSERT INTO raw.posts (post_id, {_COLS}, run_id)
    SELECT k.post_id, b.source, b.external_id, b.platform, k.created_at, b.author_pseudonym,
           b.text, b.lang_hint, b.city_hint, b.country_hint, b.payload, b.content_hash, b.run_id
    FROM posts_batch b JOIN raw.post_keys k USING (source, external_id)
    FOR KEY SHARE OF k
    ON CONFLICT ON CONSTRAINT posts_pkey DO UPDATE SET
        text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,
        lang_hint = EXCLUDED.lang_hint, city_hint = EXCLUDED.city_hint,
        country_hint = EXCLUDED.country_hint, payload = EXCLUDED.payload,
        run_id = EXCLUDED.run_id, updated_at = now()
    WHERE (raw.posts.content_hash, raw.posts.lang_hint, raw.posts.city_hint,
           raw.posts.country_hint, raw.posts.payload)
          IS DISTINCT FROM (EXCLUDED.content_hash, EXCLUDED.lang_hint, EXCLUDED.city_hint,
                            EXCLUDED.country_hint, EXCLUDED.payload)
    RETURNING source, platform, created_at, lang_hint, city_hint,
              (updated_at IS NULL) AS inserted
), daily AS ({
    _add_daily(
        "SELECT source, (created_at AT TIME ZONE 'UTC')::date, lang_hint, city_hint, count(*) "
        "FROM upserted WHERE inserted GROUP BY 1, 2, 3, 4"
    )
}
), totals AS ({
    _add_totals(
        "SELECT source, min(platform), min(created_at), max(created_at), count(*) "
        "FROM upserted WHERE inserted GROUP BY source"
    )
}
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
    """A record that does not land. Readers and connectors make it with what they read
    (`record`: the raw line, or nothing); `extractors.social.ingest.stored_rejection` turns it
    into what is filed: `record` the allow-listed fields as JSON, `digest` a keyed hash."""

    position: str
    reason: str
    record: str | bytes
    digest: str | None = None


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
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, batch_id, window_start, "
            "window_end) VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, source, location, batch_id, window[0], window[1]),
        )
    return run_id


def fail_interrupted_runs(url: str, source: str, error: str) -> int:
    """Mark the runs of `source` still 'running' failed with `error`; call it holding the
    source's advisory lock (`source:<source>`), when those runs died with their process."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE raw.import_runs SET status = 'failed', finished_at = now(), error = %s "
            "WHERE source = %s AND status = 'running'",
            (error, source),
        )
        return cur.rowcount


def finish_run(url: str, stats: ImportStats, status: str, error: str | None = None) -> None:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
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
                scrub(error[:2000]) if error else None,  # messages may quote what was read
                stats.run_id,
            ),
        )


def _opt(value: str | None) -> str:
    return NULL if value is None else _esc(value)


def copy_lines(
    posts: Sequence[Post], run_id: str, ids: Sequence[int] | None = None
) -> tuple[bytes | None, bytes]:
    """The COPY text of `posts`, UTF-8: the posts' lines (`POST_COLUMNS`, then `run_id`) and,
    given their post ids, the registry's lines (`post_id`, `source`, `external_id`,
    `created_at`), the posts' lines then starting with the id too. This runs for every post of
    an import (in the worker processes of a large one, so that the parent only sends bytes on):
    one f-string per line, and the few distinct sources and platforms escaped once."""
    keys: list[str] = []
    rows: list[str] = []
    tail = _esc(run_id)
    null = "\\N"
    escaped: dict[str, str] = {}
    numbered = ids is not None
    if numbered and len(ids) < len(posts):
        raise ValueError(f"{len(posts)} posts but only {len(ids)} post ids")
    # More ids than posts is fine (a batch draws one per line; duplicates and rejects use none).
    for p, post_id in zip(posts, ids if numbered else itertools.repeat(None), strict=False):
        source, external_id, platform, created_at, author, text, lang, city, country, payload, h = p
        src = escaped.get(source)
        if src is None:
            src = escaped[source] = _esc(source)
        plat = escaped.get(platform)
        if plat is None:
            plat = escaped[platform] = _esc(platform)
        created = created_at.isoformat()
        key = f"{src}\t{_esc(external_id)}\t"
        if numbered:
            key = f"{post_id}\t{key}"
            keys.append(f"{key}{created}\n")
        rows.append(
            f"{key}{plat}\t{created}\t{null if author is None else author}\t{_esc(text)}\t"
            f"{_opt(lang)}\t{_opt(city)}\t{_opt(country)}\t"
            f"{_esc(to_json(payload)) if payload else '{}'}\t{h}\t{tail}\n"
        )
    return ("".join(keys).encode() if numbered else None), "".join(rows).encode()


def unique_posts(posts: Iterable[Post]) -> list[Post]:
    """One post per natural key, the last version winning (as it would across batches); a
    batch must not hold a key twice, or the upsert would touch a row twice."""
    return list({(p.source, p.external_id): p for p in posts}.values())


@dataclass
class CopyBatch:
    """Posts ready to land: their COPY text with unique natural keys (`keys` only when they were
    given post ids, for a direct COPY), the UTC months they fall in (their partitions), and what
    they would add to the coverage registry if they are all new (used when they are COPYed
    straight in). Bytes, not rows: a worker process hands it to the parent in one piece."""

    count: int
    keys: bytes | None
    rows: bytes
    months: list[date]
    daily: dict[tuple[str, date, str | None, str | None], int]
    sources: dict[str, tuple[str, datetime, datetime, int]]
    # Earlier versions of a post that a later one in the same batch replaced before landing:
    # counted as a re-read across batches would be (updated if different, else unchanged).
    superseded_changed: int = 0
    superseded_same: int = 0


def copy_batch(posts: Iterable[Post], run_id: str, ids: Sequence[int] | None = None) -> CopyBatch:
    """`posts` ready to land; `ids` (at least one per post, from `draw_ids`) number them for a
    direct COPY (duplicate keys leave some unused: ids are only ever gaps, never reused)."""
    posts = posts if isinstance(posts, list) else list(posts)
    unique = unique_posts(posts)
    changed = same = 0
    if len(unique) < len(posts):
        latest: dict[tuple[str, str], Post] = {}
        for p in posts:
            key = (p.source, p.external_id)
            earlier = latest.get(key)
            if earlier is not None:
                if earlier[5:10] == p[5:10]:  # text, hints and payload
                    same += 1
                else:
                    changed += 1
            latest[key] = p
    daily: Counter[tuple[str, date, str | None, str | None]] = Counter(
        (p.source, p.created_at.date(), p.lang_hint, p.city_hint) for p in unique
    )
    spans: dict[str, list[Any]] = {}  # per source: [min platform, first, last, count]
    for p in unique:
        span = spans.get(p.source)
        if span is None:
            spans[p.source] = [p.platform, p.created_at, p.created_at, 1]
            continue
        if p.platform < span[0]:
            span[0] = p.platform
        if p.created_at < span[1]:
            span[1] = p.created_at
        elif p.created_at > span[2]:
            span[2] = p.created_at
        span[3] += 1
    sources = {source: (pl, first, last, n) for source, (pl, first, last, n) in spans.items()}
    # created_at is UTC (extractors.social.records), as are the partition bounds.
    months = sorted({day.replace(day=1) for (_, day, _, _) in daily})
    keys, rows = copy_lines(unique, run_id, ids)
    return CopyBatch(len(unique), keys, rows, months, dict(daily), sources, changed, same)


def land_posts(conn: Connection, run_id: str, posts: Sequence[Post]) -> tuple[int, int, int]:
    """Upsert `posts`; return (inserted, updated, unchanged)."""
    if not posts:
        return 0, 0, 0
    batch = copy_batch(posts, run_id)
    inserted, updated, unchanged, _ = land_batch(conn, run_id, batch)
    return inserted, updated + batch.superseded_changed, unchanged + batch.superseded_same


def ensure_partitions(cur: Any, months: Iterable[date]) -> None:
    """Create the monthly partitions of `raw.posts` that `months` need and do not have yet. Call
    it before writing in the transaction (creating a partition waits for other writers'
    transactions that hold the key registry)."""
    cur.execute("SELECT raw.ensure_post_partitions(%s::date[])", (list(months),))


# Post ids for posts to COPY straight in, drawn from the registry's sequence. Drawn alone they
# are one contiguous range, sent back as its bounds; interleaved with another writer's draws, the
# ids themselves come back. The sequence is looked up once per statement (a sub-select: an
# InitPlan), not once per id: `nextval(pg_get_serial_sequence(...))` would resolve it for every
# row, at ten times the cost per id (docs/benchmarks.md).
_DRAW_IDS = """
SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 <> count(*) THEN array_agg(v) END
FROM (SELECT nextval((SELECT pg_get_serial_sequence('raw.post_keys', 'post_id')::regclass)) AS v
      FROM generate_series(1, %s)) AS drawn
"""


def draw_ids(conn: Connection, n: int) -> Sequence[int]:
    """`n` new post ids for `copy_batch` (a range when nobody drew in between). Ids are not
    transactional: those of a batch that is not landed directly are gaps, as a sequence's are."""
    if n <= 0:
        return range(0)
    with conn.cursor() as cur:
        cur.execute(_DRAW_IDS, (n,))
        first, last, scattered = cur.fetchone()
    return range(first, last + 1) if scattered is None else scattered


def land_batch(
    conn: Connection, run_id: str, batch: CopyBatch, *, direct: bool = False
) -> tuple[int, int, int, bool]:
    """Land a batch; return (inserted, updated, unchanged, landed directly).

    `direct` (for a batch numbered by `draw_ids`) first tries to COPY the keys straight into
    `raw.post_keys` and the rows into `raw.posts` under their ids (less database work than the
    upsert, for batches of new posts: a first import); any natural key already there makes it
    roll back to a savepoint and upsert instead. Either way the result is the same rows and the
    same coverage counts.
    """
    if not batch.count:
        return 0, 0, 0, False
    if direct and batch.keys is None:
        raise ValueError("a direct COPY needs post ids: copy_batch(posts, run_id, draw_ids(...))")
    numbered = batch.keys is not None
    with conn.cursor() as cur:
        ensure_partitions(cur, batch.months)
        if direct:
            cur.execute("SAVEPOINT direct_copy")
            try:
                copy_data(
                    cur,
                    "COPY raw.post_keys (post_id, source, external_id, created_at) FROM STDIN",
                    batch.keys,
                )
                copy_data(cur, f"COPY raw.posts (post_id, {_COLS}, run_id) FROM STDIN", batch.rows)
            except psycopg2.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT direct_copy")
            else:
                cur.execute("RELEASE SAVEPOINT direct_copy")
                _count_new_posts(cur, batch)
                return batch.count, 0, 0, True
        cur.execute(_BATCH_TABLE)
        # Ids drawn for a direct COPY are not used here: the registry gives the ids.
        copy_data(
            cur,
            f"COPY posts_batch ({'post_id, ' if numbered else ''}{_COLS}, run_id) FROM STDIN",
            batch.rows,
        )
        cur.execute(_NEW_KEYS)
        cur.execute(_UPSERT)
        inserted, changed = cur.fetchone()
        cur.execute("TRUNCATE posts_batch")  # the caller may land more before it commits
    return inserted, changed - inserted, batch.count - changed, False


# Coverage of a batch COPYed straight in: a few hundred to a thousand (source, day, language,
# city) counts per batch, sent as one JSON document (one statement, one parameter). Lists
# adapted by psycopg2 would arrive as ARRAY[...] expressions of one literal per value, which
# PostgreSQL parses and plans element by element, at about a fifth of the database's CPU per
# landed post (docs/benchmarks.md).
_COUNT_DAILY = _add_daily(
    "SELECT source, day, lang, city, posts FROM json_to_recordset(%s::json) "
    "AS t(source text, day date, lang text, city text, posts bigint)"
)
_COUNT_TOTALS = _add_totals(
    "SELECT source, platform, first_post_at, last_post_at, posts FROM json_to_recordset(%s::json) "
    "AS t(source text, platform text, first_post_at timestamptz, last_post_at timestamptz, "
    "posts bigint)"
)


def _count_new_posts(cur: Any, batch: CopyBatch) -> None:
    daily = [
        {"source": s, "day": d, "lang": lang, "city": city, "posts": n}
        for (s, d, lang, city), n in batch.daily.items()
    ]
    cur.execute(_COUNT_DAILY, (orjson.dumps(daily).decode(),))
    totals = [
        {"source": s, "platform": p, "first_post_at": first, "last_post_at": last, "posts": n}
        for s, (p, first, last, n) in batch.sources.items()
    ]
    cur.execute(_COUNT_TOTALS, (orjson.dumps(totals).decode(),))


def land_rejections(
    conn: Connection, run_id: str, source: str, rejections: Sequence[Rejection]
) -> None:
    """File rejected records; the same record at the same position is filed once. Only the
    stored form is written (`Rejection.digest` set): a rejection that was not turned into it
    keeps its reason and position and nothing of what was read."""
    if not rejections:
        return
    rows = []
    for r in rejections:
        if r.digest is None:
            record, digest = "{}", hashlib.sha256(scrub(r.reason).encode()).hexdigest()
        else:
            record, digest = r.record, r.digest
        # Positions of API items quote the item's id (a status URL may name its author).
        rows.append(
            (run_id, source, scrub(r.position)[:500], scrub(r.reason)[:2000], record, digest)
        )
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS rejected_batch (run_id text, source text, "
            "position text, reason text, record text, record_hash text) ON COMMIT DELETE ROWS"
        )
        copy_data(cur, "COPY rejected_batch FROM STDIN", copy_text(rows).encode())
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
    stats.updated += updated + batch.superseded_changed
    stats.unchanged += unchanged + batch.superseded_same
    land_rejections(conn, stats.run_id, source, rejections)
    return landed_directly
