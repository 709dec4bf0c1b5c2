"""File imports: NDJSON or CSV files of posts in the project's import format.

Used for platforms whose APIs are closed or paid, researchers' captures, and the demo data.
Files are streamed in batches (bounded memory); each batch is COPYed into a temporary table and
upserted on the natural key (`source`, `external_id`), so re-importing a file adds nothing and an
edited post (new content hash) is updated in place. Bad records go to `raw.rejected_records`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from psycopg2.extensions import connection as Connection

from extractors.records import (
    InvalidRecord,
    Post,
    normalise,
    record_hash,
    scrubbed_record_text,
    to_json,
)
from monitor.warehouse import connection

log = logging.getLogger(__name__)

LOADER_ROLE = "monitor_loader"
BATCH_SIZE = 20_000
_POST_COLUMNS = (
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


@dataclass
class ImportStats:
    run_id: str
    records_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejection_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    position: str
    reason: str
    record: str


def _open_text(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def read_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (position, decoded record or Rejection) for every record of an NDJSON or CSV file."""
    name = path.name
    is_csv = path.name.removesuffix(".gz").endswith(".csv")
    with _open_text(path) as raw:
        if is_csv:
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
            for lineno, row in enumerate(csv.DictReader(text), start=2):
                yield f"{name}:{lineno}", row
            return
        for lineno, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            position = f"{name}:{lineno}"
            try:
                yield position, json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield position, Rejection(position, f"invalid UTF-8: {exc.reason}", line)
            except json.JSONDecodeError as exc:
                yield position, Rejection(position, f"invalid JSON: {exc.msg}", line)


def _copy_text(value: Any) -> str:
    """One field in PostgreSQL COPY text format."""
    if value is None:
        return r"\N"
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_buffer(rows: Iterable[tuple[Any, ...]]) -> io.StringIO:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(_copy_text(v) for v in row))
        buf.write("\n")
    buf.seek(0)
    return buf


def _load_posts(conn: Connection, run_id: str, posts: list[Post], stats: ImportStats) -> None:
    # The last version of a post in a batch wins, as it would across batches.
    unique = {(p.source, p.external_id): p for p in posts}
    rows = (
        (
            p.source,
            p.external_id,
            p.platform,
            p.created_at.isoformat(),
            p.author_pseudonym,
            p.text,
            p.lang_hint,
            p.city_hint,
            p.country_hint,
            to_json(p.payload),
            p.content_hash,
        )
        for p in unique.values()
    )
    cols = ", ".join(_POST_COLUMNS)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS posts_batch (source text, external_id text, "
            "platform text, created_at timestamptz, author_pseudonym text, text text, "
            "lang_hint text, city_hint text, country_hint text, payload jsonb, content_hash text)"
            " ON COMMIT DELETE ROWS"
        )
        cur.copy_expert(f"COPY posts_batch ({cols}) FROM STDIN", _copy_buffer(rows))
        cur.execute(
            f"""
            INSERT INTO raw.posts ({cols}, run_id)
            SELECT {cols}, %s FROM posts_batch
            ON CONFLICT ON CONSTRAINT posts_natural_key DO UPDATE SET
                text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,
                lang_hint = EXCLUDED.lang_hint, city_hint = EXCLUDED.city_hint,
                country_hint = EXCLUDED.country_hint, payload = EXCLUDED.payload,
                run_id = EXCLUDED.run_id, updated_at = now()
            WHERE raw.posts.content_hash <> EXCLUDED.content_hash
            RETURNING (xmax = 0)
            """,
            (run_id,),
        )
        changed = [row[0] for row in cur.fetchall()]
    inserted = sum(changed)
    stats.inserted += inserted
    stats.updated += len(changed) - inserted
    stats.unchanged += len(unique) - len(changed)


def _load_rejections(
    conn: Connection, run_id: str, source: str, rejections: list[Rejection]
) -> None:
    rows = []
    for r in rejections:
        record = scrubbed_record_text(r.record)
        rows.append((run_id, source, r.position, r.reason, record, record_hash(record)))
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


def import_file(
    url: str,
    path: Path,
    *,
    pepper: str,
    source: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportStats:
    """Import one file into `raw.posts`; every batch commits on its own (a crash loses no more
    than the batch in flight, and re-running resumes idempotently)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"import file not found: {path}")
    run_source = source or f"file:{path.name}"
    stats = ImportStats(run_id=f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}")
    with connection(url, role=LOADER_ROLE) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location) VALUES (%s, %s, %s)",
            (stats.run_id, run_source, str(path)),
        )
    started = time.monotonic()
    last_report = started
    posts: list[Post] = []
    rejections: list[Rejection] = []

    def flush() -> None:
        with connection(url, role=LOADER_ROLE) as conn:
            if posts:
                _load_posts(conn, stats.run_id, posts, stats)
            if rejections:
                _load_rejections(conn, stats.run_id, run_source, rejections)
        posts.clear()
        rejections.clear()

    try:
        for position, record in read_records(path):
            stats.records_read += 1
            if isinstance(record, Rejection):
                rejections.append(record)
            else:
                try:
                    posts.append(normalise(record, pepper=pepper, default_source=source))
                except InvalidRecord as exc:
                    raw = json.dumps(record, ensure_ascii=False, default=str)
                    rejections.append(Rejection(position, str(exc), raw))
            if rejections and rejections[-1].position == position:
                stats.rejected += 1
                reason = rejections[-1].reason.split(":")[0]
                stats.rejection_reasons[reason] = stats.rejection_reasons.get(reason, 0) + 1
            if len(posts) + len(rejections) >= batch_size:
                flush()
                if time.monotonic() - last_report > 5:
                    last_report = time.monotonic()
                    log.info("%s: %d records read", path.name, stats.records_read)
        flush()
    except BaseException:
        _finish_run(url, stats, "failed")
        raise
    _finish_run(url, stats, "succeeded")
    log.info(
        "%s: %d read, %d inserted, %d updated, %d unchanged, %d rejected in %.1f s",
        path.name,
        stats.records_read,
        stats.inserted,
        stats.updated,
        stats.unchanged,
        stats.rejected,
        time.monotonic() - started,
    )
    return stats


def _finish_run(url: str, stats: ImportStats, status: str) -> None:
    with connection(url, role=LOADER_ROLE) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE raw.import_runs SET finished_at = now(), status = %s, records_read = %s, "
            "inserted = %s, updated = %s, unchanged = %s, rejected = %s WHERE run_id = %s",
            (
                status,
                stats.records_read,
                stats.inserted,
                stats.updated,
                stats.unchanged,
                stats.rejected,
                stats.run_id,
            ),
        )
