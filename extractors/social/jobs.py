"""The steps of source ingestion as plain functions, for the `ingest_social` DAG and the CLI.

`prepare` validates the sources file and registers every source; `ingest` runs one source over
a window and raises when it failed (so the orchestrator retries it); `summarise` reports what a
batch (one DAG run) landed, from the run log, whichever sources failed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core.db import Role, connection
from core.migrate import migrate
from extractors.social import coverage
from extractors.social.config import load_config
from extractors.social.runner import Window, run_source

log = logging.getLogger(__name__)


class SourceFailed(RuntimeError):
    """A source's run failed; its report is in `raw.import_runs` and the coverage registry."""


def prepare(url: str, config_path: str | None = None) -> list[str]:
    """Migrate the warehouse, validate the sources file (raises `ConfigError` naming the file,
    source and field), register every source; return the ids of the enabled ones."""
    migrate(url)
    config = load_config(config_path)
    coverage.register_all(url, config)
    enabled = [s.id for s in config.enabled()]
    log.info(
        "%s: %d sources, %d enabled: %s", config.path, len(config.sources), len(enabled), enabled
    )
    return enabled


def ingest(
    url: str,
    source_id: str,
    *,
    pepper: str,
    start: datetime | None = None,
    end: datetime | None = None,
    batch_id: str | None = None,
    config_path: str | None = None,
) -> dict[str, Any]:
    """Run one configured source over [start, end); return its report, raise if it failed."""
    source = load_config(config_path).get(source_id)
    report = run_source(url, source, pepper=pepper, window=Window.of(start, end), batch_id=batch_id)
    if report.status == "failed":
        raise SourceFailed(f"source {source_id!r} failed: {report.error}")
    return report.as_dict()


def summarise(url: str, batch_id: str, expected: list[str] | None = None) -> dict[str, Any]:
    """What a batch landed per source (its latest run of each), and which sources failed or
    never ran."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT ON (source) source, status, records_read, inserted, updated,
                   rejected, error
            FROM raw.import_runs WHERE batch_id = %s
            ORDER BY source, started_at DESC
            """,
            (batch_id,),
        )
        rows = cur.fetchall()
    runs = {
        r[0]: {
            "status": r[1],
            "records_read": r[2],
            "inserted": r[3],
            "updated": r[4],
            "rejected": r[5],
            "error": r[6],
        }
        for r in rows
    }
    failed = sorted(s for s, r in runs.items() if r["status"] != "succeeded")
    missing = sorted(set(expected or ()) - set(runs))
    return {
        "batch_id": batch_id,
        "sources": runs,
        "succeeded": sorted(s for s, r in runs.items() if r["status"] == "succeeded"),
        "failed": failed,
        "did_not_run": missing,
        "inserted": sum(r["inserted"] for r in runs.values()),
        "updated": sum(r["updated"] for r in runs.values()),
    }
