"""Retention and erasure composed with dbt, the gate and publish: what `monitor erase` and the
`retention` and `erasure` DAGs run.

An erasure deletes the rows at once (`lifecycle.erasure.erase`); `rebuild_erased` then
recomputes only the (city, day) cells and days the erased posts counted in (dbt vars
`rebuild_cells` and `rebuild_days`, dbt/macros/incremental_days.sql), and republishes through
the normal path: `dbt build`, the quality gate, publish.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from lifecycle import erasure, retention
from monitor import pipeline, transform

log = logging.getLogger(__name__)

REQUEST_PATTERN = "*.txt"


def purge_expired_text(url: str) -> dict:
    """The retention run of MONITOR_RETENTION_DAYS; its log row as a dict."""
    run = retention.purge(url)
    return {**asdict(run), "cutoff": run.cutoff.isoformat()}


@dataclass(frozen=True)
class Rebuild:
    request_ids: tuple[str, ...]
    dbt_vars: dict
    gate_run_id: str | None


def rebuild_vars(pending: erasure.Pending) -> dict:
    return {
        "rebuild_cells": [[city, day.isoformat()] for city, day in pending.cells],
        "rebuild_days": [day.isoformat() for day in pending.days],
    }


def rebuild_erased(url: str) -> Rebuild:
    """Recompute the cells of every erasure not yet published, gate, publish, and mark them
    published. Nothing to do: no dbt run."""
    pending = erasure.pending(url)
    if not pending.request_ids:
        return Rebuild((), {}, None)
    if not pending.days:  # the requests found no posts: no figure counted them
        erasure.mark_published(url, pending.request_ids, None)
        return Rebuild(pending.request_ids, {}, None)
    dbt_vars = rebuild_vars(pending)
    transform.run_dbt(url, ["build", "--vars", json.dumps(dbt_vars)])
    erasure.mark_rebuilt(url, pending.request_ids)
    gate_run_id = pipeline.audit(url)
    pipeline.publish_marts(url, gate_run_id)
    erasure.mark_published(url, pending.request_ids, gate_run_id)
    log.info(
        "erasures %s republished: %d cells, %d days rebuilt (gate %s)",
        ", ".join(pending.request_ids),
        len(pending.cells),
        len(pending.days),
        gate_run_id,
    )
    return Rebuild(pending.request_ids, dbt_vars, gate_run_id)


def erase_and_republish(
    url: str, items: list[erasure.Item], *, pepper: str
) -> tuple[erasure.Erasure, Rebuild]:
    done = erasure.erase(url, items, pepper=pepper)
    return done, rebuild_erased(url)


def erase_request_files(url: str, folder: Path, *, pepper: str) -> list[dict]:
    """Erase the requests in `folder` (`*.txt`, one item a line), oldest file first. A file is
    deleted once its erasure is committed (it names people; the log keeps its hash). A file
    that does not parse stays, and the error names it and the line."""
    done = []
    for path in sorted(Path(folder).glob(REQUEST_PATTERN), key=lambda p: (p.stat().st_mtime, p)):
        try:
            items = erasure.read_request(path)
        except erasure.RequestError as exc:
            raise erasure.RequestError(f"{path.name}: {exc}") from None
        result = erasure.erase(url, items, pepper=pepper)
        path.unlink()
        done.append(
            {
                "request_id": result.request_id,
                "posts": result.posts,
                "cells": len(result.cells),
                "deleted": result.deleted,
            }
        )
    return done
