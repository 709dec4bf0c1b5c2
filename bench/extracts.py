"""Extracts benchmark: build and deliver the data packages of 20 subscriptions over a year of
monthly data, against a naive export, in the same run on the same publication.

    .venv/bin/python -m bench.extracts --posts 100000 [--admin-url URL] [--keep]

The warehouse is made as `bench.warehouse` makes it (generated posts COPYed with their oracle
classifications, here spread over the 365 days of 2026; dbt, gate, publish). Then, each in a
fresh process so that its peak memory is its own:

* **extracts**: `extracts.run.run_subscription` for 20 subscriptions (11 countries, 9 city
  pairs) x 12 months: CSV + XLSX + Parquet, datapackage.json, README, checksums, zip, delivered
  to a folder with the delivery log;
* **naive**: per subscription, month and table `SELECT *` from `published` into pandas,
  filtered there to the scope and month, written with pandas' own CSV, XLSX and Parquet
  writers (no descriptor, no checksums, no zip, no log).

Figures (wall seconds, peak RSS in MiB, packages and bytes) go to stdout as JSON;
docs/benchmarks.md "Extracts" records a run.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import multiprocessing
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path

log = logging.getLogger("bench.extracts")

YEAR = (date(2026, 1, 1), date(2027, 1, 1))
TABLES = (
    "mart_city_area_monthly",
    "mart_city_comparison",
    "mart_source_coverage",
    "mart_keywords_daily",
    "dim_integration_areas",
)
FORMATS = ["csv", "xlsx", "parquet"]


def subscriptions() -> list[dict]:
    """20 subscriptions: every demo country, then pairs of demo cities."""
    from core.reference import seed_file

    with seed_file("demo_cities.csv").open(encoding="utf-8") as f:
        cities = [(r["city_code"], r["country_code"]) for r in csv.DictReader(f)]
    countries = sorted({k for _, k in cities})
    scopes = [{"countries": [k]} for k in countries]
    codes = [c for c, _ in cities]
    for i in range(0, 2 * (20 - len(scopes)), 2):
        scopes.append({"cities": codes[i : i + 2]})
    return [
        {
            "name": f"bench_{i:02d}",
            "title": f"Benchmark subscription {i}",
            "scope": scope,
            "contents": [{"table": t} for t in TABLES],
            "grain": "month",
            "formats": FORMATS,
            "languages": ["en", "de"],
            "schedule": "0 6 2 * *",
            "deliveries": [{"type": "folder", "name": "out", "path": f"bench_{i:02d}"}],
        }
        for i, scope in enumerate(scopes[:20])
    ]


def _config():
    from extracts.config import parse_config

    raw = {
        "license": {
            "name": "CC-BY-4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Attribution 4.0",
        },
        "subscribers": subscriptions(),
    }
    return parse_config(raw, source="bench.extracts")


def run_extracts(url: str, out: Path) -> dict:
    from extracts.periods import Interval
    from extracts.run import backfill, packages_dir

    os.environ["MONITOR_HOME"] = str(out)
    config = _config()
    packages = size = 0
    for sub in config.subscribers:
        for o in backfill(url, config, sub, Interval(*YEAR)):
            packages += 1
            size += (packages_dir(sub) / o.package).stat().st_size
    return {"packages": packages, "bytes": size}


def run_naive(url: str, out: Path) -> dict:
    import pandas as pd

    from core.db import Role, connection
    from extracts.periods import Interval, periods

    config = _config()
    files = size = 0
    with connection(url, role=Role.EXTRACTS) as conn:
        cities = pd.read_sql("SELECT city_code, country_code FROM published.dim_cities", conn)
        for sub in config.subscribers:
            scope_cities = set(sub.scope.cities) | set(
                cities.loc[cities.country_code.isin(sub.scope.countries), "city_code"]
            )
            for month in periods(Interval(*YEAR), "month"):
                folder = out / sub.name / month.start.isoformat()
                folder.mkdir(parents=True, exist_ok=True)
                with pd.ExcelWriter(folder / "tables.xlsx", engine="openpyxl") as xlsx:
                    for table in TABLES:
                        df = pd.read_sql(f"SELECT * FROM published.{table}", conn)
                        if "city_code" in df:
                            df = df[df.city_code.isin(scope_cities)]
                        for col in ("month", "day", "period_start"):
                            if col in df:
                                d = pd.to_datetime(df[col]).dt.date
                                df = df[(d >= month.start) & (d < month.end)]
                                break
                        df.to_csv(folder / f"{table}.csv", index=False)
                        df.to_parquet(folder / f"{table}.parquet", index=False)
                        df.to_excel(xlsx, sheet_name=table[:31], index=False)
                        files += 2
                files += 1
                size += sum(p.stat().st_size for p in folder.iterdir())
    return {"files": files, "bytes": size}


def _child(fn_name: str, url: str, out: str, queue) -> None:
    t = time.perf_counter()
    result = globals()[fn_name](url, Path(out))
    result["seconds"] = round(time.perf_counter() - t, 1)
    # VmHWM, not ru_maxrss: the latter survives exec and would report the parent's peak.
    status = Path("/proc/self/status").read_text()
    hwm_kib = int(next(x for x in status.splitlines() if x.startswith("VmHWM:")).split()[1])
    result["peak_rss_mib"] = round(hwm_kib / 1024, 1)
    queue.put(result)


def measure(fn_name: str, url: str, out: Path) -> dict:
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: its own peak memory
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn_name, url, str(out), queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"{fn_name} failed with exit code {proc.exitcode}")
    result["load1"] = round(os.getloadavg()[0], 2)
    log.info("%s: %s", fn_name, result)
    return result


def build_warehouse(url: str, posts: int) -> str:
    """Generated posts over 2026 with oracle classifications, built, gated and published."""
    import bench.warehouse as bw
    from core.migrate import migrate
    from expectations.gate import validate
    from monitor import transform
    from publication import publish

    migrate(url)
    transform.run_dbt(url, ["seed"])
    # A year of data instead of the demo's 90 days: load_posts reads these at call time.
    bw.DEFAULT_START, bw.DEFAULT_DAYS = YEAR[0], (YEAR[1] - YEAR[0]).days
    bw.load_posts(url, posts, 0, posts, workers=1)
    transform.run_dbt(url, ["run", "--full-refresh"])
    gate = validate(url)
    if not gate.passed:
        raise RuntimeError(f"gate failed: {gate.summary()}")
    publish.publish(url, gate.gate_run_id)
    return gate.gate_run_id


def main(argv: list[str] | None = None) -> int:
    from core.db import drop_database, ensure_database
    from core.embedded import start_embedded

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--admin-url", default=None, help="admin URL (default: embedded server)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--out", type=Path, default=Path(".local/bench/extracts"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin = args.admin_url or start_embedded(Path(".local/test-pg"))
    name = f"bench_extracts_{uuid.uuid4().hex[:8]}"
    os.environ["MONITOR_DBT_TARGET_PATH"] = str(Path(".local/bench/dbt-target").resolve())
    url = ensure_database(admin, name)
    run = args.out / uuid.uuid4().hex[:8]
    figures: dict = {"posts": args.posts, "subscriptions": 20, "months": 12, "formats": FORMATS}
    try:
        t = time.perf_counter()
        figures["gate_run_id"] = build_warehouse(url, args.posts)
        figures["warehouse_s"] = round(time.perf_counter() - t, 1)
        figures["naive"] = measure("run_naive", url, run / "naive")
        figures["extracts"] = measure("run_extracts", url, run / "extracts")
        # Idempotence at scale: the same year again builds the same packages, delivers nothing.
        figures["extracts_rerun"] = measure("run_extracts", url, run / "extracts")
        e, n = figures["extracts"], figures["naive"]
        figures["speedup_vs_naive"] = round(n["seconds"] / e["seconds"], 2)
        figures["memory_ratio_naive_over_extracts"] = round(
            n["peak_rss_mib"] / e["peak_rss_mib"], 2
        )
        print(json.dumps(figures, indent=2))
    finally:
        if not args.keep:
            drop_database(admin, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
