"""Run ids: one format for every import, fetch, gate run and batch.

`<prefix>-<UTC timestamp>-<8 hex>`: sortable by start time, unique across processes, and
readable in `raw.import_runs` and `quality.gate_runs` (the prefix says what ran).
"""

from __future__ import annotations

import time
import uuid


def new_run_id(*parts: str) -> str:
    """`new_run_id()` -> `20261207T081500-1a2b3c4d`; `new_run_id("eurostat", "migr_pop1ctz")`
    -> `eurostat-migr_pop1ctz-20261207T081500-1a2b3c4d`."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return "-".join((*parts, stamp, uuid.uuid4().hex[:8]))
