"""File imports: NDJSON or CSV files of posts in the project's import format.

Used for the demo data and for files dropped into `$MONITOR_HOME/imports/posts/` (the pipeline's
import stage calls `import_file`). Files are streamed in batches (bounded memory); each batch is
COPYed and upserted on the natural key (`source`, `external_id`), so re-importing a file adds
nothing and an edited post (new content hash) is updated in place. Bad records go to
`raw.rejected_records`. NDJSON files are prepared by worker processes while the parent COPYs
(`extractors.social.parallel`); other files overlap parsing and landing in two threads
(`extractors.social.ingest`, pipelined).

A file is one run in `raw.import_runs`, under the advisory lock of its run source (the same
`source:<id>` lock as a configured source's run, so the two never interleave): runs of that
source still 'running' when the lock is taken died with their process (`kill -9`) and are
marked failed. No content of a file stops its import (`extractors.social.readers`,
`extractors.social.records`); a file that cannot be read at all (a directory, an I/O error)
fails its run, which is recorded, and raises.

Configured file sources with column mappings, cursors and resume are the `file` connector
(`extractors.social.connectors.files`); this module is the plain, cursor-less path.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.db import acquire_lock
from extractors.social.connectors.base import Item, Page
from extractors.social.ingest import Warehouse, ingest_pages
from extractors.social.landing import (
    ImportStats,
    Rejection,
    fail_interrupted_runs,
    finish_run,
    start_run,
)
from extractors.social.parallel import import_ndjson_parallel, start_pool
from extractors.social.readers import detect_format
from extractors.social.readers import read_records as _read

log = logging.getLogger(__name__)

BATCH_SIZE = 20_000
# Smaller files are not worth starting worker processes for (~0.1 s).
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
# Measured on 2 cores, 200k posts: 5,000 48-51k posts/s, 10,000 47-50k, 2,500 46-48k, 20,000 45k.
PARALLEL_BATCH_SIZE = 5_000

__all__ = ["BATCH_SIZE", "ImportStats", "import_file", "read_records"]


def read_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (position, decoded record or Rejection) for every record of an NDJSON or CSV file."""
    return _read(Path(path))


def _pages(path: Path, batch_size: int) -> Iterator[Page]:
    batch: list[Item] = []
    for position, record in read_records(path):
        if isinstance(record, Rejection):
            batch.append(Item(position, None, (), record.reason, record.record))
        else:
            batch.append(Item(position, record))
        if len(batch) >= batch_size:
            yield Page(batch, None, path.name)
            batch = []
    if batch:
        yield Page(batch, None, path.name)


def import_file(
    url: str,
    path: Path,
    *,
    pepper: str,
    source: str | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
    lock_wait_s: float | None = None,
) -> ImportStats:
    """Import one file into `raw.posts`; every batch commits on its own (a crash loses no more
    than the batches in flight, and re-running resumes idempotently). `workers` processes
    prepare NDJSON batches (default: one per CPU, at most 4; 1 = in this process). Another
    import of the same run source is waited for (`lock_wait_s`: at most that long, then
    `core.db.LockBusy`)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"import file not found: {path}")
    run_source = source or f"file:{path.name}"
    lock = acquire_lock(
        url,
        f"source:{run_source}",
        wait_s=lock_wait_s,
        on_wait=f"{path.name}: waiting for another import of {run_source}",
    )
    try:
        return _import_locked(url, path, run_source, pepper, source, batch_size, workers)
    finally:
        lock.close()  # releases the advisory lock


def _import_locked(
    url: str,
    path: Path,
    run_source: str,
    pepper: str,
    source: str | None,
    batch_size: int,
    workers: int | None,
) -> ImportStats:
    interrupted = fail_interrupted_runs(
        url,
        run_source,
        "interrupted: the process ended during the import; the next import read the file again",
    )
    if interrupted:
        log.warning("%s: %d interrupted import(s) marked failed", run_source, interrupted)
    stats = ImportStats(run_id=start_run(url, source=run_source, location=str(path)))
    started = time.monotonic()
    workers = workers or min(4, os.cpu_count() or 1)
    pool = None
    try:
        if (
            workers > 1
            and path.is_file()
            and path.stat().st_size >= PARALLEL_MIN_BYTES
            and detect_format(path) == "ndjson"
        ):
            pool = start_pool(workers, pepper, source, stats.run_id)
        if pool is not None:
            warehouse = Warehouse(url, direct_copy=True)
            try:
                import_ndjson_parallel(
                    pool,
                    warehouse,
                    path,
                    stats,
                    source=run_source,
                    # Smaller batches for workers: more of them in flight, each handed back
                    # as finished COPY bytes, so the parent's heap stays small and unfragmented.
                    batch_size=min(batch_size, PARALLEL_BATCH_SIZE),
                    workers=workers,
                    pepper=pepper,
                )
            finally:
                warehouse.close()
                pool.terminate()
                pool.join()
        else:
            ingest_pages(
                url,
                _pages(path, batch_size),
                stats,
                pepper=pepper,
                source=run_source,
                default_source=source,
                label=path.name,
                pipelined=True,
                direct_copy=True,
            )
    except BaseException as exc:
        finish_run(url, stats, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finish_run(url, stats, "succeeded")
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
