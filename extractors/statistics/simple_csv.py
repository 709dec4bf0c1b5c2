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
from pathlib import Path

from psycopg2.extras import execute_values

from core.db import Role, connection
from core.runs import new_run_id

log = logging.getLogger(__name__)


def import_simple_csv(url: str, path: Path, *, source: str) -> int:
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
    run_id = new_run_id()
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, records_read) "
            "VALUES (%s, %s, %s, %s)",
            (run_id, source, str(path), len(rows)),
        )
        # Unchanged rows are left alone, so the run's counts say what actually changed.
        changed = execute_values(
            cur,
            "INSERT INTO raw.official_statistics (source, city_code, period, indicator, value, "
            "unit, flag, run_id) VALUES %s "
            "ON CONFLICT (source, city_code, period, indicator) DO UPDATE SET "
            "value = EXCLUDED.value, unit = EXCLUDED.unit, flag = EXCLUDED.flag, "
            "run_id = EXCLUDED.run_id, fetched_at = now() "
            "WHERE (official_statistics.value, official_statistics.unit, official_statistics.flag)"
            " IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.unit, EXCLUDED.flag) "
            "RETURNING (xmax = 0)",
            [(source, *r, run_id) for r in rows],
            fetch=True,
        )
        inserted = sum(1 for (is_new,) in changed if is_new)
        updated = len(changed) - inserted
        cur.execute(
            "UPDATE raw.import_runs SET status = 'succeeded', finished_at = now(), inserted = %s, "
            "updated = %s, unchanged = %s WHERE run_id = %s",
            (inserted, updated, len(rows) - len(changed), run_id),
        )
    log.info("%s: %d statistics rows (%d new, %d updated)", path.name, len(rows), inserted, updated)
    return len(rows)
