"""The demo's statistics CSV: idempotent upsert whose run counts say what changed."""

from __future__ import annotations

from pathlib import Path

import psycopg2

from demo.generate import write_official_statistics
from extractors.statistics.simple_csv import import_simple_csv


def _runs(url: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT inserted, updated, unchanged FROM raw.import_runs ORDER BY started_at")
        return cur.fetchall()


def test_reimport_changes_nothing_and_a_revision_is_an_update(
    warehouse_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "stats.csv"
    write_official_statistics(path, seed=1)
    n = import_simple_csv(warehouse_url, path, source="demo")
    assert n > 100
    assert import_simple_csv(warehouse_url, path, source="demo") == n
    lines = path.read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("value")] = "12345.5"  # a revised figure
    path.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    import_simple_csv(warehouse_url, path, source="demo")
    assert _runs(warehouse_url) == [(n, 0, 0), (0, 0, n), (0, 1, n - 1)]
