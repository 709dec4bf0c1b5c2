"""Packages built from a real publication: figures equal the published marts computed
independently from the import file, only the subscriber's scope, no suppressed cell, a valid
Frictionless package, byte-identical on a re-run, nothing from a failed gate."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from extracts import run as extract_run
from extracts.config import load_config, parse_config, subscriber
from extracts.periods import Interval
from extracts.read import NoPublication
from tests.dbt import expected as exp
from tests.dbt.test_marts import K

pytestmark = pytest.mark.slow
JUNE = Interval(date(2026, 6, 1), date(2026, 7, 1))
FRICTIONLESS = str(Path(sys.executable).parent / "frictionless")


def _config(**changes):
    config = load_config()
    raw = config.model_dump(by_alias=True, mode="json")
    for sub in raw["subscribers"]:
        sub.update(changes.get(sub["name"], {}))
    return parse_config(raw, source="test")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}


def _csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _query(url: str, q: str, args=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall()


def test_ministry_package_figures_scope_suppression_and_metadata(
    published_url: str, demo_posts: list[dict], tmp_path: Path
) -> None:
    config = load_config()
    sub = subscriber(config, "de_federal_ministry")
    built, job, _ = extract_run.build_package(published_url, config, sub, JUNE)
    assert built.name == "de_federal_ministry_2026-06-01_2026-07-01.zip"
    files = _members(built.path)
    assert {
        "datapackage.json",
        "README.md",
        "SHA256SUMS",
        "data/mart_city_area_monthly.csv",
        "data/mart_city_area_monthly.parquet",
        "de_federal_ministry_2026-06-01_2026-07-01.xlsx",
    } <= set(files)

    # Figures: the monthly mart computed from the import file, German cities, >= k posts only.
    de_cities = {
        c
        for c, k in _query(published_url, "SELECT city_code, country_code FROM marts.dim_cities")
        if k == "DE"
    }
    want = {
        key: w
        for key, w in exp.city_area_period(demo_posts, exp.month).items()
        if key[0] in de_cities and key[2] == date(2026, 6, 1)
    }
    rows = _csv(files["data/mart_city_area_monthly.csv"])
    got = {(r["city_code"], r["area_id"], r["month"]): r for r in rows}
    assert set(got) == {(c, a, m.isoformat()) for (c, a, m), w in want.items() if w["posts"] >= K}
    assert len(got) >= 2
    for (c, a, m), w in want.items():
        if w["posts"] >= K:
            r = got[(c, a, m.isoformat())]
            assert int(r["posts"]) == w["posts"] and int(r["city_posts"]) == w["city_posts"]
            assert abs(float(r["mean_sentiment"]) - w["mean_sentiment"]) < 1e-9
    assert all(int(r["posts"]) >= K for r in rows), "a suppressed cell appeared"
    assert {r["country_code"] for r in rows} == {"DE"}
    assert all(r["area_label_de"] for r in rows)  # German labels from the seed
    coverage = _csv(files["data/mart_source_coverage.csv"])
    assert coverage and {r["city_code"] for r in coverage} <= de_cities

    # Withheld cells: what suppression removed from exactly this scope and interval.
    small = sum(1 for w in want.values() if w["posts"] < K)
    desc = json.loads(files["datapackage.json"])
    assert small > 0
    assert desc["x_suppression"]["k"] == K
    assert desc["x_suppression"]["withheld_cells"]["mart_city_area_monthly"] == small
    gate = _query(published_url, "SELECT gate_run_id FROM quality.gate_runs WHERE published")
    assert desc["x_publication"]["gate_run_id"] == gate[0][0] == job.gate_run_id
    versions = {v["task"]: v["model_version"] for v in desc["x_model_versions"]}
    assert versions == dict(
        _query(published_url, "SELECT task, model_version FROM ml.model_versions WHERE is_current")
    )
    assert desc["x_interval"] == {"start": "2026-06-01", "end": "2026-07-01"}
    assert any("synthetic_demo_data" in c["caveats"] for c in desc["x_coverage"])
    monthly = next(r for r in desc["resources"] if r["name"] == "mart_city_area_monthly")
    posts = next(f for f in monthly["schema"]["fields"] if f["name"] == "posts")
    assert posts["type"] == "integer" and "withheld" in posts["description"]
    # Units come from the columns' meta.unit in the dbt docs; identifiers carry none.
    units = {f["name"]: f.get("unit") for f in monthly["schema"]["fields"]}
    assert units["posts"] == "posts" and units["attention_share"] == "share (0-1)"
    assert units["mean_sentiment"] == "polarity (-1 to 1)" and units["city_code"] is None

    # Every checksum holds, and Frictionless validates the package (schemas, hashes, sizes).
    for line in files["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(files[name]).hexdigest() == digest, name
    with zipfile.ZipFile(built.path) as z:
        z.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped" / built.path.stem
    result = subprocess.run(
        [FRICTIONLESS, "validate", "datapackage.json"], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    # Parquet and XLSX carry the same rows.
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    table = pq.read_table(folder / "data" / "mart_city_area_monthly.parquet")
    assert table.num_rows == len(rows)
    assert sorted(table.column("posts").to_pylist()) == sorted(int(r["posts"]) for r in rows)
    wb = load_workbook(folder / built.name.replace(".zip", ".xlsx"), read_only=True)
    assert wb.sheetnames[0] == "columns" and "mart_city_area_monthly" in wb.sheetnames
    assert wb["mart_city_area_monthly"].max_row == len(rows) + 1


def test_rebuild_is_byte_identical_and_city_scope_holds(
    published_url: str, tmp_path: Path, monkeypatch
) -> None:
    config = load_config()
    for name, interval in (
        ("de_federal_ministry", JUNE),
        ("nl_cities_weekly", Interval(date(2026, 7, 27), date(2026, 8, 3))),
    ):
        sub = subscriber(config, name)
        first, _, _ = extract_run.build_package(published_url, config, sub, interval)
        data = first.path.read_bytes()
        monkeypatch.setenv("MONITOR_HOME", str(tmp_path / f"other-{name}"))
        second, _, _ = extract_run.build_package(published_url, config, sub, interval)
        assert second.path != first.path
        assert second.path.read_bytes() == data, f"{name}: rebuild differs"
        files = _members(second.path)
        assert set(files) == {n.split("/", 1)[1] for n in zipfile.ZipFile(first.path).namelist()}
    weekly = _csv(_members(second.path)["data/mart_city_area_weekly.csv"])
    assert weekly and {r["city_code"] for r in weekly} <= {"NL001C", "NL037C"}
    assert {r["week"] for r in weekly} == {"2026-07-27"}
    assert list(weekly[0]) == [
        *subscriber(config, "nl_cities_weekly").contents[0].columns,
        "area_label_nl",
        "dimension_label_nl",
    ]


def test_no_package_from_a_failed_gate(published_url: str) -> None:
    from datetime import UTC, datetime

    config = load_config()
    now = datetime(2026, 7, 10, tzinfo=UTC)
    due = {j["subscriber"]: j["interval"] for j in extract_run.due_jobs(published_url, now, config)}
    assert due["de_federal_ministry"] == "2026-06-01/2026-07-01"
    assert set(due) == {s.name for s in config.subscribers}
    conn = psycopg2.connect(published_url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO quality.gate_runs (gate_run_id, started_at, finished_at, passed) "
            "VALUES ('failed-run', now(), now(), false)"
        )
    conn.close()
    sub = subscriber(config, "de_federal_ministry")
    with pytest.raises(NoPublication, match="failed-run failed"):
        extract_run.run_subscription(published_url, config, sub, JUNE)
    assert not extract_run.packages_dir(sub).exists()
    assert _query(published_url, "SELECT count(*) FROM extracts.deliveries") == [(0,)]
    assert extract_run.due_jobs(published_url, now, config) == []


def test_extracts_role_reads_published_only(published_url: str) -> None:
    for schema in ("marts", "published_detail", "quality", "ml", "raw"):
        assert _query(
            published_url, "SELECT has_schema_privilege('monitor_extracts', %s, 'USAGE')", (schema,)
        ) == [(False,)], schema
