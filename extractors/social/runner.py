"""Run configured sources: one source at a time, every stream incremental and resumable.

For each stream of a source the runner decides the window, loads the stream's state, pulls the
connector's pages and lands each page with its new state in one transaction
(`extractors.social.ingest`). The decisions:

- live (the normal, scheduled case): from the stream's watermark (or, the first time, from
  `initial_lookback_hours` before the window's end) up to the window's end; at most `max_pages`
  pages per stream and run, the rest follows next run;
- backfill: a window that ends before the live watermark is fetched again as its own stream
  (`backfill/<start>/<end>/<stream>`), resumable too, and forgotten once complete; the live
  cursor never moves back. Sources that cannot fetch the past (RSS, files) skip backfills.

A source holds a PostgreSQL advisory lock while it runs, so two runs of one source (a retry
overlapping a slow run, a backfill next to the schedule) can never interleave their cursors.
Runs left 'running' by a killed process are marked failed by the next run. A failing stream or
source is recorded and reported; it never stops the others.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.db import LockBusy, acquire_lock
from core.http import HttpClient
from extractors.social import coverage, state
from extractors.social.config import Source
from extractors.social.connectors.base import Connector, Context, Page
from extractors.social.ingest import ingest_pages
from extractors.social.landing import ImportStats, fail_interrupted_runs, finish_run, start_run

log = logging.getLogger(__name__)


class SourceBusy(RuntimeError):
    """Another run of the same source holds its lock."""


@dataclass(frozen=True)
class Window:
    """The orchestrator's data interval; `end=None` means now, `start=None` means incremental
    from the watermark."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None) -> Window:
        aware = [
            None if t is None else (t if t.tzinfo else t.replace(tzinfo=UTC)) for t in (start, end)
        ]
        return cls(aware[0], aware[1])


@dataclass
class SourceReport:
    source: str
    kind: str
    status: str  # succeeded | failed | skipped
    run_id: str | None = None
    streams: dict[str, str] = field(default_factory=dict)  # stream -> complete | partial | ...
    pages: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Tracked:
    """Iterate a connector's pages up to a budget, remembering whether they ran out."""

    def __init__(self, pages: Iterator[Page], budget: int | None, share_identities: bool) -> None:
        self._pages = pages
        self._budget = budget
        self._share = share_identities
        self.exhausted = False
        self.count = 0

    def __iter__(self) -> Iterator[Page]:
        for page in self._pages:
            yield page.with_shared_identities() if self._share else page
            self.count += 1
            if self._budget is not None and self.count >= self._budget:
                # Stop pulling: the next page is not requested; its cursor is saved already.
                return
        self.exhausted = True


def _interrupted_runs(url: str, source: str) -> int:
    """Runs of `source` still 'running' while we hold its lock died with their process."""
    return fail_interrupted_runs(
        url,
        source,
        "interrupted: the process ended during the run; the next run resumed from the saved cursor",
    )


def _plan(
    connector: Connector, stream: str, live: state.StreamState, window: Window, source: Source
) -> tuple[str, datetime, datetime] | None:
    """(state key, since, until) for this run of `stream`, or None to skip it."""
    now = datetime.now(UTC)
    until = min(window.end or now, now)
    if (
        window.start is not None
        and window.end is not None
        and live.watermark is not None
        and window.end <= live.watermark
    ):
        if not connector.supports_backfill:
            log.info("%s %s: cannot fetch past windows; backfill skipped", source.id, stream)
            return None
        key = f"backfill/{window.start:%Y%m%dT%H%M%S}/{window.end:%Y%m%dT%H%M%S}/{stream}"
        return key, window.start, window.end
    lookback = until - timedelta(hours=source.initial_lookback_hours)
    since = live.watermark or min(filter(None, (window.start, lookback)))
    return f"live/{stream}", since, until


def run_source(
    url: str,
    source: Source,
    *,
    pepper: str,
    window: Window | None = None,
    batch_id: str | None = None,
    http: HttpClient | None = None,
    lock_wait_s: float = 30.0,
) -> SourceReport:
    """Run one source over `window`; never raises for the source's own failures (they are in
    the report, the run log and the coverage registry)."""
    window = window or Window()
    report = SourceReport(source=source.id, kind=source.config.kind, status="failed")
    started = time.monotonic()
    try:
        lock = acquire_lock(url, f"source:{source.id}", wait_s=lock_wait_s)
    except LockBusy:
        exc = SourceBusy(f"source {source.id!r} is already running elsewhere (advisory lock)")
        report.status, report.error = "skipped", str(exc)
        log.warning("%s", exc)
        return report
    client = http or HttpClient(source.http.policy(), user_agent=source.user_agent)
    connector: Connector | None = None
    stats: ImportStats | None = None
    try:
        connector = source.connector(
            source.config,
            source.options,
            Context(http=client, pepper=pepper, config_dir=str(source.config_dir)),
        )
        interrupted = _interrupted_runs(url, source.id)
        if interrupted:
            log.warning("%s: %d interrupted run(s) marked failed; resuming", source.id, interrupted)
        coverage.register(url, source, connector)
        run_id = start_run(
            url,
            source=source.id,
            location=connector.location(),
            batch_id=batch_id,
            window=(window.start, window.end),
        )
        report.run_id = run_id
        stats = ImportStats(run_id=run_id)
        errors = _run_streams(url, source, connector, window, stats, pepper, report)
        report.stats = asdict(stats)
        report.status = "failed" if errors else "succeeded"
        report.error = "; ".join(errors) or None
        finish_run(url, stats, report.status, report.error)
    except Exception as exc:  # the registry, the run log or the config failed: still report
        report.error = f"{type(exc).__name__}: {exc}"
        log.error("%s: %s\n%s", source.id, report.error, traceback.format_exc())
        if report.run_id:
            finish_run(url, stats or ImportStats(run_id=report.run_id), "failed", report.error)
    finally:
        if connector is not None:
            connector.close()
        if http is None:
            client.close()
        report.seconds = round(time.monotonic() - started, 3)
        try:
            coverage.record_run(url, source.id, report.run_id, report.status, report.error)
        finally:
            lock.close()  # releases the advisory lock
    log.info(
        "%s: %s in %.1f s, %d pages, %s",
        source.id,
        report.status,
        report.seconds,
        report.pages,
        {k: report.stats.get(k) for k in ("records_read", "inserted", "updated", "rejected")},
    )
    return report


def _run_streams(
    url: str,
    source: Source,
    connector: Connector,
    window: Window,
    stats: ImportStats,
    pepper: str,
    report: SourceReport,
) -> list[str]:
    errors: list[str] = []
    try:
        streams = connector.streams()
    except Exception as exc:
        return [f"listing streams: {type(exc).__name__}: {exc}"]
    if not streams:
        log.warning("%s: nothing to read (no streams, e.g. no file matches)", source.id)
    budget = None if connector.unbounded_pages else source.max_pages
    for stream in streams:
        live = state.load(url, source.id, f"live/{stream}")
        plan = _plan(connector, stream, live, window, source)
        if plan is None:
            report.streams[stream] = "skipped"
            continue
        key, since, until = plan
        current = live if key.startswith("live/") else state.load(url, source.id, key)
        pages = _Tracked(
            connector.fetch(stream, current, since, until),
            budget,
            connector.shares_page_identities,
        )

        def save(conn: Any, new: state.StreamState, key: str = key) -> None:
            state.save(conn, source.id, key, new, stats.run_id)

        try:
            ingest_pages(
                url,
                pages,
                stats,
                pepper=pepper,
                source=source.id,
                default_source=source.id,
                save_state=save,
                label=f"{source.id} {stream}",
            )
        except Exception as exc:
            message = f"{stream}: {type(exc).__name__}: {exc}"
            log.error("%s %s", source.id, message)
            errors.append(message)
            report.streams[stream] = "failed"
            report.pages += pages.count
            continue
        report.pages += pages.count
        if pages.exhausted:
            report.streams[stream] = "complete"
            if key.startswith("backfill/"):
                state.delete(url, source.id, key)
        else:
            report.streams[stream] = f"partial (page budget {budget} reached; resumes next run)"
    return errors


def run_sources(
    url: str,
    sources: Iterable[Source],
    *,
    pepper: str,
    window: Window | None = None,
    batch_id: str | None = None,
) -> list[SourceReport]:
    """Run several sources one after the other; a failing one never stops the rest."""
    return [run_source(url, s, pepper=pepper, window=window, batch_id=batch_id) for s in sources]
