"""Parallel preparation of large NDJSON imports: worker processes read, decode, validate,
redact, scrub and pseudonymise blocks of lines and hand back finished COPY bytes; the parent only
finds block boundaries, draws the post ids of each block before submitting it while the run
still COPYs straight into `raw.posts` (so workers write complete rows), and COPYs.

Preparing a post (JSON decoding, validation, redaction, scrubbing, pseudonym, hash, COPY
lines) costs CPU of the same order as PostgreSQL's landing of it (figures in
docs/benchmarks.md, "Ingestion"), and one process uses one core: worker processes prepare the
next blocks while PostgreSQL lands the previous one. Workers read their byte range of the file
themselves (a compressed file is read by the parent and sent as blocks), so no per-line objects
cross processes. Blocks are submitted a few at a time and landed in file order, so memory stays
bounded (at most `workers + 2` blocks in flight), the last version of a post in the file wins as
in the serial path, and a crash loses at most the blocks not yet committed.

Used by `extractors.social.file_import.import_file` for NDJSON files; where processes cannot be
started (a daemonic worker, e.g. under Celery's prefork pool) it falls back to the serial path.
"""

from __future__ import annotations

import collections
import gc
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.social.ingest import Warehouse, stored_rejection
from extractors.social.landing import CopyBatch, ImportStats, Rejection, copy_batch
from extractors.social.readers import BOM, open_binary, read_failure
from extractors.social.records import (
    ImportRecord,
    InvalidRecord,
    decode_import_record,
    decode_json,
    normalise,
)

log = logging.getLogger(__name__)

_settings: dict[str, str | None] = {}
# Blocks are cut by size: `batch_size` lines of a typical post (~500 bytes as NDJSON).
BYTES_PER_LINE = 500


@dataclass
class Prepared:
    """One block of the file, ready to land. Rejections carry line numbers within the block (as
    their position) and are in their stored form; the parent, which lands blocks in order,
    turns them into file positions."""

    batch: CopyBatch
    records: int
    lines: int  # physical lines in the block (for the next block's line numbers)
    rejections: list[Rejection] = field(default_factory=list)


def _init(pepper: str, default_source: str | None, run_id: str) -> None:
    _settings["pepper"] = pepper
    _settings["default_source"] = default_source
    _settings["run_id"] = run_id


def prepare_block(data: bytes, ids: Sequence[int] | None = None) -> Prepared:
    """Decode and normalise the NDJSON lines of `data` into a `CopyBatch` numbered by `ids`
    (one per line at least; None: not numbered, for the upsert); runs in a worker process.

    The cyclic garbage collector is paused meanwhile: a block allocates a few hundred thousand
    short-lived containers, none of them in a cycle, and the collections they would trigger,
    each walking the worker's caches too, would cost about a tenth of the block. It runs again
    between blocks."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _prepare(data, ids)
    finally:
        if enabled:
            gc.enable()


def _prepare(data: bytes, ids: Sequence[int] | None) -> Prepared:
    pepper = _settings["pepper"]
    run_id = _settings["run_id"]
    assert pepper is not None and run_id is not None
    default_source = _settings["default_source"]
    posts = []
    rejections: list[Rejection] = []
    records = 0
    if data.startswith(BOM):  # the first block of a file written with a byte order mark
        data = data[len(BOM) :]
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the block ends with a newline
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records += 1
        line = line.rstrip(b"\r")
        # The import format's fields only, straight from the bytes; anything else (not an
        # object, not JSON) is decoded as the serial path decodes it, for the same reasons.
        record: Any = decode_import_record(line)
        if record is None:
            try:
                record = decode_json(line)
            except UnicodeDecodeError as exc:
                reason = f"invalid UTF-8: {exc.reason}"
                rejections.append(stored_rejection(str(lineno), reason, pepper, raw=line))
                continue
            except json.JSONDecodeError as exc:
                reason = f"invalid JSON: {exc.msg}"
                rejections.append(stored_rejection(str(lineno), reason, pepper, raw=line))
                continue
        try:
            posts.append(normalise(record, pepper=pepper, default_source=default_source))
        except InvalidRecord as exc:
            if type(record) is ImportRecord:  # the rejection keeps what the serial path keeps
                record = decode_json(line)
            rejections.append(stored_rejection(str(lineno), str(exc), pepper, record=record))
    return Prepared(copy_batch(posts, run_id, ids), records, len(lines), rejections)


def prepare_range(path: str, start: int, end: int, ids: Sequence[int] | None) -> Prepared:
    """`prepare_block` of bytes [start, end) of a plain file, read by the worker itself (the
    parent only finds the line boundaries: no lines travel between processes)."""
    with open(path, "rb") as raw:
        raw.seek(start)
        return prepare_block(raw.read(end - start), ids)


def _lines_in(data: bytes) -> int:
    return data.count(b"\n") + (not data.endswith(b"\n"))


def _ranges(path: Path, block_bytes: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, lines) of byte ranges of about `block_bytes`, each ending at the end of a
    line. The parent reads each block once to count its lines (the post ids it needs: ~0.1 µs
    per line)."""
    with path.open("rb") as raw:
        start = 0
        while data := raw.read(block_bytes):
            if not data.endswith(b"\n"):
                data += raw.readline()
            yield start, start + len(data), _lines_in(data)
            start += len(data)


def _blocks(raw: Any, block_bytes: int) -> Iterator[bytes]:
    """Blocks of whole lines of a compressed file (which cannot be read from an offset)."""
    while True:
        data = raw.read(block_bytes)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += raw.readline()
        yield data


def start_pool(workers: int, pepper: str, default_source: str | None, run_id: str):
    """A process pool, or None where processes cannot be started here."""
    try:
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        return context.Pool(workers, _init, (pepper, default_source, run_id))
    except (
        AssertionError,
        OSError,
    ) as exc:  # "daemonic processes are not allowed to have children"
        log.warning("parallel import unavailable (%s); importing serially", exc)
        return None


def import_ndjson_parallel(
    pool,
    warehouse: Warehouse,
    path: Path,
    stats: ImportStats,
    *,
    source: str,
    batch_size: int,
    workers: int,
    pepper: str,
) -> None:
    """Land every line of `path` through `pool`; each batch commits on its own. A compressed
    file that ends early (truncated, corrupt) lands what it held and one rejection saying where
    the rest is missing."""
    pending: collections.deque = collections.deque()
    started = last = time.monotonic()
    line_base = 0  # physical lines before the block being landed

    def land_next() -> None:
        nonlocal last, line_base
        prepared: Prepared = pending.popleft().get()
        stats.records_read += prepared.records
        rejections = [
            Rejection(f"{path.name}:{line_base + int(r.position)}", r.reason, r.record, r.digest)
            for r in prepared.rejections
        ]
        line_base += prepared.lines
        for rejection in rejections:
            stats.reject(rejection.reason)
        try:
            warehouse.land(stats, source, prepared.batch, rejections)
            warehouse.conn.commit()
        except BaseException:
            warehouse.conn.rollback()
            raise
        now = time.monotonic()
        if now - last >= 5:
            last = now
            log.info(
                "%s: %d records read (%.0f/s), %d new, %d rejected",
                path.name,
                stats.records_read,
                stats.records_read / (now - started),
                stats.inserted,
                stats.rejected,
            )

    # While the run COPYs straight in, each block is sent with post ids for each of its lines
    # (drawn here, in file order), so the worker hands back finished COPY text.
    ids_for = warehouse.ids_for
    block_bytes = batch_size * BYTES_PER_LINE
    compressed = open_binary(path) if path.suffix == ".gz" else None
    try:
        if compressed is not None:
            jobs: Iterator[tuple[Any, tuple[Any, ...]]] = (
                (prepare_block, (block, ids_for(_lines_in(block))))
                for block in _blocks(compressed, block_bytes)
            )
        else:
            jobs = (
                (prepare_range, (str(path), a, b, ids_for(lines)))
                for a, b, lines in _ranges(path, block_bytes)
            )
        for function, args in jobs:
            pending.append(pool.apply_async(function, args))
            if len(pending) > workers + 1:  # bounded: never read far ahead of what has landed
                land_next()
        while pending:
            land_next()
        failure = read_failure(compressed) if compressed is not None else None
    finally:
        if compressed is not None:
            compressed.close()
    if failure:
        position = f"{path.name}:{line_base + 1}"
        rejection = stored_rejection(position, failure, pepper, raw=failure)
        stats.records_read += 1
        stats.reject(failure)
        try:
            warehouse.land(stats, source, copy_batch([], stats.run_id), [rejection])
            warehouse.conn.commit()
        except BaseException:
            warehouse.conn.rollback()
            raise
