"""Superset benchmark: p95 latency of the dashboards' chart queries, 1 and 10 users, cached and not.

    .venv/bin/python -m bench.superset --posts 200000 [--rounds 5] [--admin-url URL] [--out F]

A warehouse of `--posts` generated posts (bench.warehouse's loader: oracle classifications, then
dbt, the gate and publish) is served by Superset bootstrapped from superset/dashboards.yml. Every
chart of the public dashboards is then asked for its data (`GET /api/v1/chart/<id>/data/`) by
the analyst login, as 1 user and as 10 concurrent users (a thread and a session each):

- uncached: `?force=true`, so every request runs its SQL on the warehouse;
- cached: the same requests after one warm-up pass, answered from the results cache.

All four scenarios run in the same process against the same server, so their ratios are
comparable; figures (p50, p95, max in ms, requests per second) go to stdout as JSON and to
`--out`. docs/benchmarks.md "Superset" records a run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

log = logging.getLogger("bench.superset")

SCENARIOS = (("uncached", 1), ("uncached", 10), ("cached", 1), ("cached", 10))


def build_warehouse(admin_url: str, posts: int) -> str:
    from bench.warehouse import load_posts
    from core.db import connect, ensure_database
    from core.migrate import migrate
    from expectations.gate import validate
    from monitor import transform
    from publication import publish

    url = ensure_database(admin_url, f"bench_superset_{uuid.uuid4().hex[:8]}")
    migrate(url)
    transform.run_dbt(url, ["seed"])
    load_posts(url, posts, 0, posts)
    conn = connect(url, autocommit=True)
    conn.cursor().execute("VACUUM ANALYZE")
    conn.close()
    transform.run_dbt(url, ["run", "--full-refresh"])
    gate = validate(url)
    if not gate.passed:
        raise SystemExit(f"gate {gate.gate_run_id} failed: nothing published to benchmark")
    publish.publish(url, gate.gate_run_id)
    return url


def login(base: str, user: str, password: str) -> requests.Session:
    s = requests.Session()
    r = s.post(
        f"{base}/api/v1/security/login",
        json={"username": user, "password": password, "provider": "db"},
        timeout=30,
    )
    r.raise_for_status()
    s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
    return s


def chart_ids(session: requests.Session, base: str, slugs: list[str]) -> list[int]:
    ids: list[int] = []
    for slug in slugs:
        r = session.get(f"{base}/api/v1/dashboard/{slug}/charts", timeout=60)
        r.raise_for_status()
        ids += [c["id"] for c in r.json()["result"]]
    return sorted(set(ids))


def run_scenario(
    base: str, sessions: list[requests.Session], charts: list[int], rounds: int, force: bool
) -> dict[str, float]:
    """Each user asks for every chart `rounds` times; latency of each request in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    suffix = "?force=true" if force else ""

    def user(session: requests.Session, offset: int) -> None:
        order = charts[offset % len(charts) :] + charts[: offset % len(charts)]
        for _ in range(rounds):
            for chart in order:
                t = time.perf_counter()
                r = session.get(f"{base}/api/v1/chart/{chart}/data/{suffix}", timeout=300)
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(ms)
                    if r.status_code != 200:
                        errors.append(f"{chart}: {r.status_code}")

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(s, i * 3)) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"chart data errors: {errors[:5]}")
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "max_ms": round(latencies[-1], 1),
        "requests_per_s": round(len(latencies) / wall, 1),
        "load1": round(os.getloadavg()[0], 2),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    from core.db import PgParams, Role, drop_database, set_login_passwords
    from core.embedded import start_embedded
    from monitor import superset_service as ss

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3, help="passes over the charts per user")
    ap.add_argument("--threads", type=int, default=10, help="gunicorn threads (1 worker)")
    ap.add_argument("--admin-url", default=None, help="admin URL (default: embedded server)")
    ap.add_argument("--warehouse-url", default=None, help="benchmark an existing warehouse")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here (JSON)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin = args.admin_url or start_embedded(Path(".local/test-pg"))
    os.environ["MONITOR_DBT_TARGET_PATH"] = str(Path(".local/bench/dbt-target").resolve())
    figures: dict = {"posts": args.posts, "rounds": args.rounds, "gunicorn_threads": args.threads}
    t = time.perf_counter()
    url = args.warehouse_url or build_warehouse(admin, args.posts)
    figures["warehouse_build_s"] = round(time.perf_counter() - t, 1)
    home = Path(tempfile.mkdtemp(prefix="bench-superset-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    params = PgParams.from_url(url)
    os.environ.setdefault("SUPERSET_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.pop("SUPERSET_DATA_CACHE", None)  # the file cache, as bin/run serves
    # Eleven logins in a few seconds from one address: above the production login rate limit.
    os.environ.setdefault("SUPERSET_AUTH_RATE_LIMIT", "100 per 40 second")
    password = secrets.token_urlsafe(12)
    # The reader logins need a password (the embedded server enforces it).
    readers = {Role.BI: secrets.token_urlsafe(16), Role.DETAIL: secrets.token_urlsafe(16)}
    set_login_passwords(url, readers)
    proc = None
    try:
        summary = ss.bootstrap(
            home,
            params.url(user=Role.BI, password=readers[Role.BI], driver="psycopg2"),
            password,
            port=port,
            detail_uri=params.url(
                user=Role.DETAIL, password=readers[Role.DETAIL], driver="psycopg2"
            ),
        )
        stored = dict(
            line.split("=", 1)
            for line in (home / "passwords.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        proc = ss.start(home, port=port, threads=args.threads)
        ss.wait_until_healthy(base, timeout=240, proc=proc)
        slugs = [s for s, d in summary["access"]["dashboards"].items() if "Analyst" in d["roles"]]
        admin_session = login(base, "admin", password)
        charts = chart_ids(admin_session, base, slugs)
        figures["dashboards"], figures["charts"] = len(slugs), len(charts)
        sessions = [login(base, "analyst", stored["analyst"]) for _ in range(10)]
        # One warm-up pass fills the cache (and the server's own first-use costs).
        run_scenario(base, sessions[:1], charts, 1, force=False)
        for cache, users in SCENARIOS:
            name = f"{cache}_{users}_users"
            figures[name] = run_scenario(
                base, sessions[:users], charts, args.rounds, force=cache == "uncached"
            )
            log.info("%s: %s", name, figures[name])
            if args.out:
                args.out.write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures, indent=2))
    finally:
        if proc is not None:
            ss.stop(proc)
        if not args.keep and not args.warehouse_url:
            drop_database(admin, params.dbname)
    return 0


if __name__ == "__main__":
    sys.exit(main())
