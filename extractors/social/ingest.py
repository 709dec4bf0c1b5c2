"""From pages of records to landed rows: validate, scrub, COPY, save the cursor, log progress.

The one loop every source goes through (connectors via `extractors.social.runner`, plain files via
`extractors.social.file_import`). Each page commits on its own together with its stream state, so a
crash loses at most the page in flight and the resume starts right after the last commit.

With `pipelined=True` (large files) a landing thread COPYs page N while the caller's thread
parses and scrubs page N+1: psycopg2 releases the GIL while PostgreSQL works, so the two cores
of a small machine both do useful work. At most three pages are in memory at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.sql import SQL, Identifier

from core.db import Role, connect
from extractors.social.connectors.base import Item, Page, StreamState
from extractors.social.landing import (
    CopyBatch,
    ImportStats,
    Rejection,
    copy_batch,
    draw_ids,
    land,
)
from extractors.social.records import (
    InvalidRecord,
    Post,
    normalise,
    record_names,
    rejected_fields,
    rejection_digest,
    scrubbed_reason,
)

log = logging.getLogger(__name__)

SaveState = Callable[[Connection, StreamState], None]
PROGRESS_EVERY_S = 5.0


def stored_rejection(
    position: str,
    reason: str,
    pepper: str,
    *,
    record: Any = None,
    raw: str | bytes | None = None,
    identities: Iterable[Any] = (),
) -> Rejection:
    """A rejection as it is filed: the scrubbed reason, the allow-listed fields of the record
    when it was decoded (`rejected_fields`), never the line itself, and a keyed hash of the line
    (`raw`, when the record could not be decoded) or of what is kept."""
    names = record_names(record, identities)
    reason = scrubbed_reason(reason, names)
    if raw is not None:
        return Rejection(position, reason, "{}", rejection_digest(raw, pepper))
    kept = rejected_fields(record, pepper, identities)
    return Rejection(position, reason, kept, rejection_digest(f"{reason}\n{kept}", pepper))


def normalise_items(
    items: Iterable[Item],
    stats: ImportStats,
    *,
    pepper: str,
    default_source: str | None = None,
) -> tuple[list[Post], list[Rejection]]:
    """Validate a page's items: posts to land, and rejections with reason and position."""
    posts: list[Post] = []
    rejections: list[Rejection] = []
    append = posts.append
    for item in items:
        stats.records_read += 1
        reason = item.error
        if reason is None:
            try:
                append(
                    normalise(
                        item.record,
                        pepper=pepper,
                        default_source=default_source,
                        identities=item.identities,
                    )
                )
                continue
            except InvalidRecord as exc:
                reason = str(exc)
        rejections.append(
            stored_rejection(
                item.position,
                reason,
                pepper,
                record=item.record,
                raw=item.raw,
                identities=item.identities,
            )
        )
        stats.reject(reason)
    return posts, rejections


class Warehouse:
    """One loader-role session for a run; each `commit_page` is its own transaction.

    With `direct_copy` (bulk imports, where most posts are new) batches are first COPYed
    straight into `raw.posts`; after the first batch that meets an existing post, the run
    upserts (see `extractors.social.landing.land_batch`)."""

    def __init__(self, url: str, *, direct_copy: bool = False) -> None:
        self.direct_copy = direct_copy
        self.conn = connect(url)
        with self.conn.cursor() as cur:
            cur.execute(SQL("SET ROLE {}").format(Identifier(Role.LOADER)))
        self.conn.commit()

    def commit_page(
        self,
        stats: ImportStats,
        source: str,
        posts: list[Post],
        rejections: list[Rejection],
        state: StreamState | None,
        save_state: SaveState | None,
    ) -> None:
        try:
            batch = copy_batch(posts, stats.run_id, self.ids_for(len(posts)))
            self.land(stats, source, batch, rejections)
            if state is not None and save_state is not None:
                save_state(self.conn, state)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def ids_for(self, n: int) -> Sequence[int] | None:
        """Post ids for a batch of `n` posts while the run still COPYs straight in, else None."""
        return draw_ids(self.conn, n) if self.direct_copy and n else None

    def land(
        self, stats: ImportStats, source: str, batch: CopyBatch, rejections: list[Rejection]
    ) -> None:
        """Land in the current transaction (the caller commits). A batch without post ids (drawn
        after the run stopped COPYing straight in) is upserted."""
        numbered = batch.keys is not None
        direct = land(
            self.conn, stats, source, batch, rejections, direct=self.direct_copy and numbered
        )
        self.direct_copy = self.direct_copy and direct

    def close(self) -> None:
        self.conn.close()


class _LandingThread(threading.Thread):
    def __init__(
        self, warehouse: Warehouse, stats: ImportStats, source: str, save: SaveState | None
    ):
        super().__init__(name="landing", daemon=True)
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self._args = (warehouse, stats, source, save)

    def run(self) -> None:
        warehouse, stats, source, save = self._args
        while True:
            job = self.queue.get()
            if job is None:
                return
            if self.error is not None:
                continue  # drain: the producer will see the error and stop
            posts, rejections, state = job
            try:
                warehouse.commit_page(stats, source, posts, rejections, state, save)
            except BaseException as exc:
                self.error = exc


def ingest_pages(
    url: str,
    pages: Iterable[Page],
    stats: ImportStats,
    *,
    pepper: str,
    source: str,
    default_source: str | None = None,
    save_state: SaveState | None = None,
    label: str = "",
    pipelined: bool = False,
    direct_copy: bool = False,
) -> int:
    """Land every page; return the number of pages landed. `source` names the rejections;
    `default_source` fills records that do not name their own."""
    warehouse = Warehouse(url, direct_copy=direct_copy)
    started = last = time.monotonic()
    landed = 0
    worker = _LandingThread(warehouse, stats, source, save_state) if pipelined else None
    if worker is not None:
        worker.start()
    try:
        for page in pages:
            posts, rejections = normalise_items(
                page.items, stats, pepper=pepper, default_source=default_source
            )
            if worker is None:
                warehouse.commit_page(stats, source, posts, rejections, page.state, save_state)
            else:
                if worker.error is not None:
                    raise worker.error
                worker.queue.put((posts, rejections, page.state))
            landed += 1
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S:
                last = now
                log.info(
                    "%s: %d records read (%.0f/s), %d new, %d updated, %d rejected",
                    label or source,
                    stats.records_read,
                    stats.records_read / (now - started),
                    stats.inserted,
                    stats.updated,
                    stats.rejected,
                )
    finally:
        if worker is not None:
            worker.queue.put(None)  # pages already handed over still land (they are complete)
            worker.join()
        warehouse.close()
    if worker is not None and worker.error is not None:
        raise worker.error
    return landed
