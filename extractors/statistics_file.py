"""Official statistics from a simple CSV file (`city_code,year,indicator,value,unit[,flag]`).

The demo ships a synthetic file in this shape (`$MONITOR_HOME/imports/statistics/*.csv`, read by
the pipeline's import stage). It lands in `raw.official_statistics`, upserting on (source, city,
period, indicator), and reaches `fct_city_statistics` with the file name as its source.
Eurostat, PxWeb and MIPEX have their own connectors and versioned tables: see
`extractors.statistics` and docs/statistics.md.
"""

from __future__ import annotations

import csv
import logging
import time
import uuid
from pathlib import Path

from monitor.warehouse import connection

log = logging.getLogger(__name__)


def import_statistics_file(url: str, path: Path, *, source: str) -> int:
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for lineno, row in enumerate(csv.DictReader(f), start=2):
            try:
                value = float(row["value"]) if row.get("value") not in (None, "") else None
                rows.append(
                    (
                        row["city_code"].strip(),
                        str(row["year"]).strip(),
                        row["indicator"].strip(),
                        value,
                        row["unit"].strip(),
                        (row.get("flag") or None),
                    )
                )
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path.name}:{lineno}: bad statistics row ({exc})") from exc
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    with connection(url, role="monitor_loader") as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, status, finished_at, "
            "records_read, inserted) VALUES (%s, %s, %s, 'succeeded', now(), %s, %s)",
            (run_id, source, str(path), len(rows), len(rows)),
        )
        cur.executemany(
            "INSERT INTO raw.official_statistics (source, city_code, period, indicator, value, "
            "unit, flag, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (source, city_code, period, indicator) DO UPDATE SET "
            "value = EXCLUDED.value, unit = EXCLUDED.unit, flag = EXCLUDED.flag, "
            "run_id = EXCLUDED.run_id, fetched_at = now()",
            [(source, *r, run_id) for r in rows],
        )
    log.info("%s: %d statistics rows", path.name, len(rows))
    return len(rows)
