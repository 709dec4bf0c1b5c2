"""The running system of `monitor run` (`bin/run`), the end-to-end tests and bench.freshness:
Airflow's scheduler, dag-processor, triggerer and API server (LocalExecutor), or Celery workers
beside them, as child processes, each in its own process group and stopped together; the
production DAGs unpaused; progress read from Airflow's metadata and the warehouse.

    with Stack(env, logs) as stack:
        stack.start_airflow()
        stack.unpause(PRODUCTION_DAGS, metadata_url)
        Progress(metadata_url, warehouse_url).wait_for_publication(stack)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import psycopg2

from core.db import PgParams

VENV_BIN = Path(sys.executable).parent
PRODUCTION_DAGS = ("ingest_social", "ingest_statistics", "classify_posts", "build_warehouse")
# Components of a local Airflow 3 (what `airflow standalone` runs, but each on its own so that
# the executor, the ports and the logs are ours).
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StackError(RuntimeError):
    """A component exited, or the system did not reach a state in time; the message says where
    its log is."""


class Stack:
    """Child processes sharing one Airflow environment. `stop()` (also on leaving the `with`
    block) ends every process group it started: SIGINT, then SIGKILL after `grace` seconds."""

    def __init__(self, env: dict[str, str], logs: Path, *, grace: float = 20) -> None:
        self.env, self.logs, self.grace = env, Path(logs), grace
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AIRFLOW__API__PORT']}"

    def start(
        self, name: str, cmd: list[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped with all its children
        )
        log.close()
        self.procs[name] = proc
        return proc

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """One airflow CLI command; its output is appended to logs/airflow-cli.log."""
        result = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        with (self.logs / "airflow-cli.log").open("a") as log:
            log.write(f"$ airflow {' '.join(args)}\n{result.stdout}{result.stderr}")
        if check and result.returncode != 0:
            raise StackError(
                f"airflow {' '.join(args)} failed (exit {result.returncode}):\n"
                f"{(result.stdout + result.stderr)[-3000:]}"
            )
        return result

    def start_airflow(self, components: Iterable[str] = COMPONENTS) -> None:
        for name in components:
            args = ["api-server", "--port", self.env["AIRFLOW__API__PORT"]]
            self.start(
                name, [str(VENV_BIN / "airflow"), *(args if name == "api-server" else [name])]
            )

    def start_worker(
        self, name: str, *, concurrency: int = 1, queues: str | None = None
    ) -> subprocess.Popen:
        """A Celery worker named `name` (its own log-server port: several run on one host)."""
        return self.start(
            name,
            [
                str(VENV_BIN / "airflow"), "celery", "worker",
                "--celery-hostname", f"{name}@%h", "--concurrency", str(concurrency),
                "--without-mingle", "--without-gossip",
                *(["--queues", queues] if queues else []),
            ],
            env={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
        )  # fmt: skip

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(
                    f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}"
                )

    def wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            try:
                with urllib.request.urlopen(url, timeout=3):  # noqa: S310 - our own local URL
                    return
            except OSError:
                time.sleep(1)
        raise StackError(f"{url} did not answer within {timeout:.0f} s")

    def kill(self, name: str) -> None:
        """SIGKILL a component and everything it started (a worker lost with its tasks)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        # SIGINT first: Airflow's processes shut down cleanly (and end their tasks) on it.
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + self.grace
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left of each group (a task process that ignored SIGINT) goes for sure.
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()

    def unpause(self, dag_ids: Iterable[str], metadata_url: str, timeout: float = 300) -> None:
        """Unpause DAGs once the dag-processor has serialised them."""
        dag_ids = list(dag_ids)
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            parsed = {r[0] for r in _query(metadata_url, "SELECT dag_id FROM dag", ())}
            if set(dag_ids) <= parsed:
                break
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(set(dag_ids) - parsed))
                raise StackError(
                    f"DAGs not parsed within {timeout:.0f} s: {missing}; "
                    f"see {self.logs / 'dag-processor.log'} and `airflow dags list-import-errors`"
                )
            time.sleep(2)
        pattern = "^(" + "|".join(dag_ids) + ")$"
        self.airflow("dags", "unpause", "--treat-dag-id-as-regex", "--yes", pattern)


def _query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(PgParams.from_url(url).url())
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


# Build runs that consumed a post_classifications event and succeeded: publications that carry
# classified posts (a run on statistics alone may come first).
_PUBLISHED_SQL = """
SELECT count(DISTINCT r.id) FROM dag_run r
JOIN dagrun_asset_event dae ON dae.dag_run_id = r.id
JOIN asset_event e ON e.id = dae.event_id
JOIN asset a ON a.id = e.asset_id
WHERE r.dag_id = 'build_warehouse' AND r.state = 'success' AND a.name = 'post_classifications'
"""
_ACTIVE = ("running", "queued", "up_for_retry")
# Active tries, and finished ones (shown once: a task may start and end between two polls).
_TRIES_SQL = """
SELECT dag_id, run_id, task_id, map_index, try_number, state FROM task_instance
WHERE state IN ('running', 'queued', 'up_for_retry')
   OR (state IN ('success', 'failed') AND end_date > now() - interval '1 hour')
ORDER BY dag_id, task_id, map_index
"""
_FAILED_SQL = """
SELECT dag_id, run_id, end_date FROM dag_run WHERE state = 'failed' ORDER BY end_date
"""
_CLASSIFIED_SQL = """
SELECT count(*) FROM ml.classified_posts c JOIN ml.model_versions v
    ON v.task = c.task AND v.model_version = c.model_version AND v.is_current
WHERE c.task = 'language'
"""


class Progress:
    """What the system is doing, read every `interval` seconds; `say` gets each change."""

    def __init__(
        self,
        metadata_url: str,
        warehouse_url: str,
        say: Callable[[str], None] = print,
        *,
        interval: float = 2.0,
    ) -> None:
        self.meta, self.warehouse, self.say, self.interval = (
            metadata_url,
            warehouse_url,
            say,
            interval,
        )
        self._last: tuple = ()
        self._failed: set[str] = set()
        # Task tries already shown, so that one that ran between two polls is still reported;
        # what had finished before this watch began is not news.
        self._shown: set[tuple] = {
            row[:5] for row in _query(self.meta, _TRIES_SQL) if row[5] not in _ACTIVE
        }

    def publications(self) -> int:
        return _query(self.meta, _PUBLISHED_SQL)[0][0]

    def counts(self) -> tuple[int, int]:
        posts = _query(self.warehouse, "SELECT count(*) FROM raw.posts")[0][0]
        return posts, _query(self.warehouse, _CLASSIFIED_SQL)[0][0]

    def poll(self) -> None:
        tries = _query(self.meta, _TRIES_SQL)
        shown = []
        for dag_id, run_id, task_id, map_index, try_number, state in tries:
            key = (dag_id, run_id, task_id, map_index, try_number)
            if state in _ACTIVE or key not in self._shown:
                shown.append((dag_id, task_id, map_index, state))
            self._shown.add(key)
        posts, classified = self.counts()
        state = (tuple(shown), posts, classified)
        if state != self._last:
            self._last = state
            tasks = ", ".join(
                f"{d}.{t}{f'[{m}]' if m >= 0 else ''}{'' if s == 'running' else f' ({s})'}"
                for d, t, m, s in shown
            )
            stamp = datetime.now().strftime("%H:%M:%S")
            self.say(
                f"{stamp}  posts {posts:,}, classified {classified:,}  |  "
                f"{tasks or 'waiting for the scheduler'}"
            )
        for dag_id, run_id, _ in _query(self.meta, _FAILED_SQL):
            if run_id not in self._failed:
                self._failed.add(run_id)
                self.say(f"          run failed: {dag_id} {run_id} (see its task logs)")

    def statistics_landed(self) -> bool:
        """The first ingest_statistics run is over, or classification is about to emit (so the
        build, unpaused now, still gets that event)."""
        return bool(
            _query(
                self.meta,
                "SELECT 1 FROM dag_run WHERE dag_id = 'ingest_statistics' "
                "AND state IN ('success', 'failed') UNION ALL "
                "SELECT 1 FROM task_instance WHERE dag_id = 'classify_posts' "
                "AND task_id = 'publish_classifications'",
            )
        )

    def wait_for(
        self, stack: Stack, done: Callable[[], bool], what: str, *, timeout: float = 3600
    ) -> None:
        started = time.monotonic()
        while not done():
            stack.check()
            if time.monotonic() - started > timeout:
                raise StackError(f"{what}: not within {timeout:.0f} s; see {stack.logs}")
            self.poll()
            time.sleep(self.interval)

    def wait_for_publication(self, stack: Stack, *, timeout: float = 3600) -> float:
        """Until a publication carries classified posts; return the seconds it took."""
        started = time.monotonic()
        while not self.publications():
            stack.check()
            if time.monotonic() - started > timeout:
                raise StackError(f"no publication within {timeout:.0f} s; see {stack.logs}")
            self.poll()
            time.sleep(self.interval)
        self.poll()
        return time.monotonic() - started
