"""`monitor` command line: the one entry point users and the README commands call.

monitor run          the real system on the embedded default: Airflow's scheduler,
                     dag-processor, triggerer and API server run the production DAGs on the demo
                     files until their first publication, then Superset; up until Ctrl-C
monitor demo-data    write the synthetic demo files into <home>/imports
monitor pipeline     the same stages without Airflow (debugging)
monitor db start|stop|url|migrate
monitor extracts list|preview SUBSCRIBER|run SUBSCRIBER [--interval START/END]
monitor erase        --post SOURCE:EXTERNAL_ID | --author-pseudonym P | --file LIST: erase
                     everywhere, rebuild the affected cells, republish
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from core.db import PgParams, Role, ensure_database, redact, set_login_passwords
from core.embedded import start_embedded, stop_embedded
from core.settings import REPO_ROOT, Settings, load_settings
from monitor import airflow_env as airflow_env_mod
from monitor.secrets import ensure_local_secrets, login_passwords

log = logging.getLogger("monitor")

DEFAULT_DEMO_POSTS = 20_000


def step(n: int, total: int, text: str) -> None:
    print(f"\033[1m[{n}/{total}]\033[0m {text}", flush=True)


def resolve_warehouse(settings: Settings) -> tuple[str, str]:
    """(warehouse URL, admin URL of its server): the configured one, or the embedded server."""
    if settings.warehouse_url:
        return settings.warehouse_url, settings.warehouse_url
    admin = start_embedded(settings.embedded_pgdata)
    return ensure_database(admin, "monitor"), admin


def demo_files(settings: Settings, n_posts: int, seed: int, force: bool = False) -> Path:
    from demo.generate import write_official_statistics, write_posts

    imports = settings.home / "imports"
    posts = imports / "posts" / "demo_posts.ndjson.gz"
    stats = imports / "statistics" / "demo_official_statistics.csv"
    marker = imports / ".demo-params"
    params = f"posts={n_posts} seed={seed}"
    if force or not posts.exists() or not marker.exists() or marker.read_text() != params:
        posts.parent.mkdir(parents=True, exist_ok=True)
        stats.parent.mkdir(parents=True, exist_ok=True)
        write_posts(posts, n_posts, seed=seed)
        write_official_statistics(stats, seed=seed)
        marker.write_text(params)
    return imports


def _require_free_port(port: int, option: str) -> None:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(
                f"port {port} on 127.0.0.1 is already in use (another `monitor run`, or another "
                f"service): stop it, or choose another port with {option} PORT"
            )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    from core.migrate import migrate
    from monitor import superset_service
    from monitor.stack import PRODUCTION_DAGS, Progress, Stack, free_port

    # Ctrl-C and a service manager's SIGTERM both stop everything cleanly, even when SIGINT was
    # inherited as ignored (background jobs of a non-interactive shell).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    # Checked first: a health check must never be answered by somebody else's server.
    _require_free_port(args.airflow_port, "--airflow-port")
    if not args.no_superset:
        _require_free_port(args.superset_port, "--superset-port")
    settings = load_settings()
    total = 6
    secrets = ensure_local_secrets(settings.home)
    os.environ.setdefault("MONITOR_PEPPER", secrets["MONITOR_PEPPER"])
    # The demo reads local files only, unless asked to follow the live sources too.
    os.environ.setdefault("MONITOR_OFFLINE", "false" if args.online else "true")
    # One shard per task slot of the LocalExecutor: each shard loads the encoder once.
    os.environ.setdefault("MONITOR_CLASSIFY_SHARDS", "2")
    settings = load_settings()
    logs = settings.home / "logs"

    step(1, total, "warehouse")
    url, admin_url = resolve_warehouse(settings)
    embedded = not settings.warehouse_url
    stack = superset_proc = None
    try:
        applied = migrate(url)
        set_login_passwords(url, login_passwords(secrets))
        print(
            f"      {'embedded PostgreSQL' if embedded else 'configured PostgreSQL'}: {redact(url)}"
            f"{'; migrations applied: ' + ', '.join(applied) if applied else ''}"
        )

        step(2, total, f"demo data ({args.posts} synthetic posts, seed {args.seed})")
        imports = demo_files(settings, args.posts, args.seed)
        print(f"      {imports / 'posts'} (source local_imports of config/sources.yml)")

        step(3, total, "Airflow metadata database")
        meta = PgParams.from_url(ensure_database(admin_url, args.airflow_db))
        metadata_url = meta.url(driver="psycopg2")
        env = {
            **os.environ,
            **airflow_env_mod.airflow_env(
                home=settings.home,
                metadata_url=metadata_url,
                warehouse_url=url,
                admin_password=secrets["AIRFLOW_ADMIN_PASSWORD"],
                jwt_secret=secrets["AIRFLOW__API_AUTH__JWT_SECRET"],
                api_port=args.airflow_port,
                log_server_ports=(free_port(), free_port()),
            ),
        }
        stack = Stack(env, logs)
        stack.airflow("db", "migrate")

        step(4, total, "Airflow: scheduler, dag-processor, triggerer, API server (LocalExecutor)")
        stack.start_airflow()
        stack.wait_http(f"{stack.api_url}/api/v2/monitor/health", 180)
        # build_warehouse last: unpaused once the statistics have landed, so that its first run
        # is the one on the classified posts (a paused DAG is not queued by asset events).
        first, build = PRODUCTION_DAGS[:-1], PRODUCTION_DAGS[-1]
        # Watching from before the unpause: the first tasks may be over before it returns.
        progress = Progress(metadata_url, url, lambda line: print("      " + line, flush=True))
        stack.unpause(first, metadata_url)
        print(f"      unpaused {', '.join(first)}; logs in {logs}")
        print("      ingest_social -> classify_posts -> build_warehouse (dbt, gate, publish):")
        started = time.monotonic()
        progress.wait_for(stack, progress.statistics_landed, "ingest_statistics")
        stack.unpause([build], metadata_url)
        print(f"      unpaused {build}")
        progress.wait_for_publication(stack)
        took = time.monotonic() - started
        print(f"      first publication after {took:.0f} s")

        superset_url = f"http://127.0.0.1:{args.superset_port}"
        superset_home = settings.home / "superset"
        if args.no_superset:
            print("      --no-superset: Superset is not started")
        else:
            step(5, total, "Superset: bootstrap from superset/assets, then the web server")
            bi_url = PgParams.from_url(url).url(
                user=Role.BI, password=secrets["WAREHOUSE_BI_PASSWORD"], driver="psycopg2"
            )
            # The bootstrap and the server must sign sessions with the same key.
            os.environ["SUPERSET_SECRET_KEY"] = secrets["SUPERSET_SECRET_KEY"]
            detail_url = PgParams.from_url(url).url(
                user=Role.DETAIL, password=secrets["WAREHOUSE_DETAIL_PASSWORD"], driver="psycopg2"
            )
            superset_service.bootstrap(
                superset_home,
                bi_url,
                secrets["SUPERSET_ADMIN_PASSWORD"],
                port=args.superset_port,
                detail_uri=detail_url,
            )
            superset_proc = superset_service.start(superset_home, port=args.superset_port)
            superset_service.wait_until_healthy(superset_url, timeout=180, proc=superset_proc)
        if args.no_serve:
            print("      --no-serve: stopping after the first publication")
            return 0

        step(6, total, "ready")
        lines = [f"  Airflow   {stack.api_url}   user admin / {secrets['AIRFLOW_ADMIN_PASSWORD']}"]
        if superset_proc is not None:
            lines += [
                f"  Superset  {superset_url}   user admin / {secrets['SUPERSET_ADMIN_PASSWORD']}",
                f"            dashboards: {superset_url}/dashboard/list/ (start: "
                f"{superset_url}/superset/dashboard/urban-integration/)",
                "            other logins (analyst, ngo, ministry_de, ...): "
                f"{superset_home / 'passwords.env'}",
            ]
        lines += [
            f"  Warehouse {redact(url)}",
            f"  Secrets   {settings.home / 'secrets.env'} (generated here, never committed)",
            f"  Logs      {logs}",
            f"  Imports   files in the import format dropped into {imports / 'posts'} land with",
            "            the next ingest_social run (MONITOR_INGEST_SCHEDULE, default hourly)",
            "",
            "  Press Ctrl-C to stop everything this command started.",
        ]
        print("\n" + "\n".join(lines), flush=True)
        while superset_proc is None or superset_proc.poll() is None:
            stack.check()
            progress.poll()
            time.sleep(progress.interval)
        print("Superset exited unexpectedly; see its log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        if superset_proc is not None:
            superset_service.stop(superset_proc)
        if stack is not None:
            stack.stop()
        if embedded and stop_embedded(settings.embedded_pgdata):
            print("stopped the embedded PostgreSQL", flush=True)


def cmd_demo_data(args: argparse.Namespace) -> int:
    imports = demo_files(load_settings(), args.posts, args.seed, force=args.force)
    print(imports)
    return 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    from monitor.pipeline import run_all

    settings = load_settings()
    secrets = ensure_local_secrets(settings.home)
    url, _ = resolve_warehouse(settings)
    imports = demo_files(settings, args.posts, args.seed)
    gate = run_all(url, imports, pepper=settings.pepper or secrets["MONITOR_PEPPER"])
    print(f"published (quality gate run {gate})")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from core.migrate import migrate

    settings = load_settings()
    if args.action == "stop":
        print("stopped" if stop_embedded(settings.embedded_pgdata) else "not running")
        return 0
    url, _ = resolve_warehouse(settings)
    if args.action == "migrate":
        print(", ".join(migrate(url)) or "up to date")
    else:
        print(url)
    return 0


def cmd_extracts(args: argparse.Namespace) -> int:
    """Scheduled extracts (docs/extracts.md): list the validated subscriptions, build a
    package without delivering it, or build and deliver one interval or a range (backfill)."""
    import json
    from datetime import UTC, datetime

    from extracts import run as extract_run
    from extracts.config import load_config, subscriber
    from extracts.periods import due, parse_interval, periods

    config = load_config()
    if args.action == "list":
        for s in config.subscribers:
            now = due(s.schedule, extract_run.grain(s), datetime.now(UTC))
            print(f"{s.name}\t{s.kind}\t{s.schedule}\tdue {now}\t{s.title}")
        return 0
    if not args.subscriber:
        raise SystemExit(f"monitor extracts {args.action}: name a SUBSCRIBER")
    sub = subscriber(config, args.subscriber)
    grain = extract_run.grain(sub)
    if args.interval:
        intervals = periods(parse_interval(args.interval), grain)
    else:
        intervals = [due(sub.schedule, grain, datetime.now(UTC))]
    url, _ = resolve_warehouse(load_settings())
    for interval in intervals:
        if args.action == "preview":
            built, _job, _ = extract_run.build_package(url, config, sub, interval)
            print(f"{interval}\t{built.path if built else 'no new spikes'}")
        else:
            out = extract_run.run_subscription(url, config, sub, interval)
            print(json.dumps(out.as_dict()))
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase posts or authors everywhere, then rebuild their cells and republish
    (docs/privacy.md, "Erasure"). Prints counts only: never the ids it was given."""
    import json

    from core.settings import require_pepper
    from lifecycle import erasure
    from monitor import lifecycle

    try:
        items = [erasure.item("post", p) for p in args.post or []]
        items += [erasure.item("author", a) for a in args.author_pseudonym or []]
        if args.file:
            items += erasure.read_request(args.file)
    except erasure.RequestError as exc:
        raise SystemExit(f"monitor erase: {exc}") from None
    if not items:
        raise SystemExit("monitor erase: give --post, --author-pseudonym or --file")
    settings = load_settings()
    url, _ = resolve_warehouse(settings)
    done, rebuilt = lifecycle.erase_and_republish(url, items, pepper=require_pepper(settings))
    print(
        json.dumps(
            {
                "request_id": done.request_id,
                "request_hash": done.request_hash,
                "posts": done.posts,
                "deleted": done.deleted,
                "cells_rebuilt": len(done.cells),
                "gate_run_id": rebuilt.gate_run_id,
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(
        prog="monitor", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def demo_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--posts", type=int, default=DEFAULT_DEMO_POSTS, help="demo posts to generate"
        )
        p.add_argument("--seed", type=int, default=42, help="seed of the demo generator")

    run = sub.add_parser("run", help="run the production DAGs in Airflow and serve the web UIs")
    demo_options(run)
    run.add_argument("--airflow-port", type=int, default=airflow_env_mod.API_PORT)
    run.add_argument("--superset-port", type=int, default=8088)
    run.add_argument(
        "--airflow-db", default="airflow", help="database of Airflow's metadata on the server"
    )
    run.add_argument("--no-serve", action="store_true", help="stop after the first publication")
    run.add_argument("--no-superset", action="store_true", help="do not start Superset")
    run.add_argument(
        "--online", action="store_true", help="also run the sources that need the internet"
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo-data", help="write the synthetic demo files")
    demo_options(demo)
    demo.add_argument("--force", action="store_true", help="regenerate even if present")
    demo.set_defaults(func=cmd_demo_data)

    pipe = sub.add_parser("pipeline", help="run every stage in-process, without Airflow")
    demo_options(pipe)
    pipe.set_defaults(func=cmd_pipeline)

    db = sub.add_parser("db", help="the warehouse database")
    db.add_argument("action", choices=["start", "stop", "url", "migrate"])
    db.set_defaults(func=cmd_db)

    ext = sub.add_parser("extracts", help="scheduled extracts and alert digests")
    ext.add_argument("action", choices=["list", "preview", "run"])
    ext.add_argument("subscriber", nargs="?", help="a subscriber of config/extracts.yml")
    ext.add_argument(
        "--interval", help="START/END (ISO dates, END excluded): every period in it (backfill)"
    )
    ext.set_defaults(func=cmd_extracts)

    erase = sub.add_parser("erase", help="erase posts or authors everywhere and republish")
    erase.add_argument(
        "--post", action="append", metavar="SOURCE:EXTERNAL_ID", help="a post (repeatable)"
    )
    erase.add_argument(
        "--author-pseudonym", action="append", metavar="P", help="an author (repeatable)"
    )
    erase.add_argument(
        "--file",
        type=Path,
        metavar="LIST",
        help="lines 'post SOURCE:EXTERNAL_ID' or 'author PSEUDONYM'",
    )
    erase.set_defaults(func=cmd_erase)

    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
