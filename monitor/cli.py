"""`monitor` command line: the one entry point users and the README commands call.

monitor run          the whole pipeline through Airflow on the embedded default, then keep
                     Airflow's and Superset's web UIs up until Ctrl-C
monitor demo-data    write the synthetic demo files into <home>/imports
monitor pipeline     the same stages without Airflow (debugging)
monitor db start|stop|url|migrate
monitor extracts list|preview SUBSCRIBER|run SUBSCRIBER [--interval START/END]
monitor erase        --post SOURCE:EXTERNAL_ID | --author-pseudonym P | --file LIST: erase
                     everywhere, rebuild the affected cells, republish
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.db import PgParams, Role, ensure_database, redact
from core.embedded import start_embedded, stop_embedded
from core.settings import REPO_ROOT, Settings, load_settings
from monitor import airflow_env as airflow_env_mod
from monitor.secrets import ensure_local_secrets

log = logging.getLogger("monitor")

DAG_ID = "urban_monitor_pipeline"
DEFAULT_DEMO_POSTS = 20_000
VENV_BIN = Path(sys.executable).parent
# `airflow dags test` logs "[DAG TEST] starting task_id=x" and "[DAG TEST] end task task_id=x".
_DAG_TEST_PROGRESS = re.compile(r"\[DAG TEST\] (starting|end task) task_id=(\w+)")


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


def _run_logged(cmd: list[str], env: dict[str, str], logfile: Path, what: str) -> None:
    """Run a command with its output in `logfile`; show our task progress lines on the way."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("w") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            progress = _DAG_TEST_PROGRESS.search(line)
            if progress:
                verb = "running" if progress.group(1) == "starting" else "finished"
                print(f"      {verb} {progress.group(2)}", flush=True)
            elif "Task failed" in line or "ERROR" in line:
                print("      " + line.strip()[:200], flush=True)
        code = proc.wait()
    if code != 0:
        tail = "".join(logfile.read_text().splitlines(keepends=True)[-40:])
        raise SystemExit(f"{what} failed (exit {code}). Last lines of {logfile}:\n{tail}")


def _airflow(args: list[str], env: dict[str, str], logfile: Path, what: str) -> None:
    _run_logged([str(VENV_BIN / "airflow"), *args], env, logfile, what)


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} did not come up: its process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=3):  # noqa: S310 - our own local URL
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        # SIGINT first: Airflow's processes only shut down cleanly on it.
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


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

    # Ctrl-C and a service manager's SIGTERM both stop everything cleanly, even when SIGINT was
    # inherited as ignored (background jobs of a non-interactive shell).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    # Checked first: a health check must never be answered by somebody else's server.
    _require_free_port(args.airflow_port, "--airflow-port")
    if not args.no_serve:
        _require_free_port(args.superset_port, "--superset-port")
    settings = load_settings()
    total = 7
    secrets = ensure_local_secrets(settings.home)
    os.environ.setdefault("MONITOR_PEPPER", secrets["MONITOR_PEPPER"])
    settings = load_settings()
    logs = settings.home / "logs"

    step(1, total, "warehouse")
    url, admin_url = resolve_warehouse(settings)
    embedded = not settings.warehouse_url
    applied = migrate(url)
    print(
        f"      {'embedded PostgreSQL' if embedded else 'configured PostgreSQL'}: {redact(url)}"
        f"{'; migrations applied: ' + ', '.join(applied) if applied else ''}"
    )

    step(2, total, f"demo data ({args.posts} synthetic posts, seed {args.seed})")
    demo_files(settings, args.posts, args.seed)

    step(3, total, "Airflow metadata database")
    metadata_url = PgParams.from_url(ensure_database(admin_url, "airflow")).url(driver="psycopg2")
    env = {
        **os.environ,
        **airflow_env_mod.airflow_env(
            home=settings.home,
            metadata_url=metadata_url,
            warehouse_url=url,
            admin_password=secrets["AIRFLOW_ADMIN_PASSWORD"],
            jwt_secret=secrets["AIRFLOW__API_AUTH__JWT_SECRET"],
            api_port=args.airflow_port,
        ),
    }
    _airflow(["db", "migrate"], env, logs / "airflow-db-migrate.log", "airflow db migrate")

    step(4, total, f"pipeline through Airflow: airflow dags test {DAG_ID}")
    started = time.monotonic()
    _airflow(["dags", "test", DAG_ID], env, logs / "pipeline.log", f"DAG {DAG_ID}")
    print(f"      done in {time.monotonic() - started:.0f} s (log: {logs / 'pipeline.log'})")

    step(5, total, "Superset: bootstrap from superset/assets")
    superset_home = settings.home / "superset"
    bi_url = PgParams.from_url(url).url(user=Role.BI, driver="psycopg2")
    # The bootstrap and the server must sign sessions with the same key.
    os.environ["SUPERSET_SECRET_KEY"] = secrets["SUPERSET_SECRET_KEY"]
    detail_url = PgParams.from_url(url).url(user=Role.DETAIL, driver="psycopg2")
    superset_service.bootstrap(
        superset_home,
        bi_url,
        secrets["SUPERSET_ADMIN_PASSWORD"],
        port=args.superset_port,
        detail_uri=detail_url,
    )
    if args.no_serve:
        print("      --no-serve: not starting the web UIs")
        return 0

    step(6, total, "starting the web UIs")
    airflow_proc = superset_proc = None
    try:
        airflow_proc = subprocess.Popen(
            [str(VENV_BIN / "airflow"), "api-server", "--port", str(args.airflow_port)],
            env=env,
            stdout=(logs / "airflow-api-server.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        superset_proc = superset_service.start(superset_home, port=args.superset_port)
        airflow_url = f"http://127.0.0.1:{args.airflow_port}"
        superset_url = f"http://127.0.0.1:{args.superset_port}"
        _wait_http(f"{airflow_url}/api/v2/monitor/health", 180, airflow_proc)
        superset_service.wait_until_healthy(superset_url, timeout=180, proc=superset_proc)

        step(7, total, "ready")
        print(
            f"\n  Airflow   {airflow_url}   user admin / {secrets['AIRFLOW_ADMIN_PASSWORD']}\n"
            f"  Superset  {superset_url}   user admin / {secrets['SUPERSET_ADMIN_PASSWORD']}\n"
            f"            dashboards: {superset_url}/dashboard/list/ (start: "
            f"{superset_url}/superset/dashboard/urban-integration/)\n"
            f"            other logins (analyst, ngo, ministry_de, ...): "
            f"{superset_home / 'passwords.env'}\n"
            f"  Warehouse {redact(url)}\n"
            f"  Secrets   {settings.home / 'secrets.env'} (generated here, never committed)\n"
            f"  Logs      {logs}\n\n  Press Ctrl-C to stop everything this command started.",
            flush=True,
        )
        while airflow_proc.poll() is None and superset_proc.poll() is None:
            time.sleep(1)
        print("a web UI exited unexpectedly; see the logs above", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        _stop(airflow_proc)
        if superset_proc is not None:
            superset_service.stop(superset_proc)
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

    items = [erasure.item("post", p) for p in args.post or []]
    items += [erasure.item("author", a) for a in args.author_pseudonym or []]
    if args.file:
        items += erasure.read_request(args.file)
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

    run = sub.add_parser("run", help="run the pipeline through Airflow and serve the web UIs")
    demo_options(run)
    run.add_argument("--airflow-port", type=int, default=airflow_env_mod.API_PORT)
    run.add_argument("--superset-port", type=int, default=8088)
    run.add_argument(
        "--no-serve", action="store_true", help="stop after the pipeline and bootstrap"
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
