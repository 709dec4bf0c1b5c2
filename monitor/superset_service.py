"""Run Superset from the main virtualenv without importing it.

Superset 6.1 needs SQLAlchemy < 2, so it lives in ``.venv-superset``; this module only starts
processes there:

- ``bootstrap(home, warehouse_uri, admin_password)`` runs ``superset/bootstrap.py``
  (db upgrade, init, admin user, assets-as-code import, Analyst role). Idempotent. Progress is
  logged line by line and kept in ``home/bootstrap.log``; a failure raises
  :class:`SupersetError` with the log tail.
- ``start(home, port, host)`` runs gunicorn (1 worker, a few threads) in its own process
  group and returns the ``Popen``; its output goes to ``home/logs/server.log``.
- ``wait_until_healthy(url, timeout)`` polls ``<url>/health``.
- ``stop(proc)`` terminates the whole process group (SIGTERM, then SIGKILL).

Secrets are passed through the environment, not the command line. The Flask secret key is
``$SUPERSET_SECRET_KEY`` when set, else the key the bootstrap stored in ``home/secret_key``.

Example::

    from monitor import superset_service as ss
    ss.bootstrap(home, "postgresql+psycopg2://monitor_bi@/monitor?host=/srv/pg", password)
    proc = ss.start(home, port=8088)
    try:
        ss.wait_until_healthy("http://127.0.0.1:8088", timeout=120)
        ...
    finally:
        ss.stop(proc)
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUPERSET_VENV = REPO / ".venv-superset"
SUPERSET_PYTHON = SUPERSET_VENV / "bin" / "python"
GUNICORN = SUPERSET_VENV / "bin" / "gunicorn"
BOOTSTRAP_SCRIPT = REPO / "superset" / "bootstrap.py"
CONFIG_PATH = REPO / "superset" / "superset_config.py"

log = logging.getLogger(__name__)


class SupersetError(RuntimeError):
    """Superset could not be bootstrapped, started or reached."""


def superset_env(home: Path) -> dict[str, str]:
    """Environment for Superset processes: its home, this repo's config, no telemetry."""
    env = dict(os.environ)
    env.update(
        {
            "SUPERSET_HOME": str(Path(home).resolve()),
            "SUPERSET_CONFIG_PATH": str(CONFIG_PATH),
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Superset's own CLI/app must not pick up the main venv's packages.
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{SUPERSET_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _require_venv() -> None:
    if not SUPERSET_PYTHON.exists():
        raise SupersetError(
            f"{SUPERSET_PYTHON} not found: install Superset's virtualenv "
            "(requirements/superset.lock) first"
        )


def bootstrap(
    home: Path, warehouse_uri: str, admin_password: str, port: int = 8088, timeout: float = 900
) -> None:
    """Run ``superset/bootstrap.py`` in ``.venv-superset``; raise with the log tail on failure."""
    _require_venv()
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = superset_env(home)
    env["SUPERSET_WAREHOUSE_URI"] = warehouse_uri
    env["SUPERSET_ADMIN_PASSWORD"] = admin_password
    cmd = [str(SUPERSET_PYTHON), str(BOOTSTRAP_SCRIPT), "--home", str(home), "--port", str(port)]
    log_path = home / "bootstrap.log"
    tail: collections.deque[str] = collections.deque(maxlen=60)
    started = time.monotonic()
    log.info("superset bootstrap: %s (log %s)", home, log_path)
    with open(log_path, "w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        timed_out = threading.Event()

        def _on_timeout() -> None:
            timed_out.set()
            _kill_group(proc)

        watchdog = threading.Timer(timeout, _on_timeout)
        watchdog.daemon = True
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log_file.write(line)
                line = line.rstrip()
                tail.append(line)
                if line.startswith(("[bootstrap]", "BOOTSTRAP OK")):
                    log.info("%s", line)
                else:
                    log.debug("%s", line)
            rc = proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            watchdog.cancel()
    if timed_out.is_set():
        raise SupersetError(
            f"superset bootstrap killed after {timeout}s; see {log_path}. Last lines:\n"
            + "\n".join(tail)
        )
    if rc != 0:
        raise SupersetError(
            f"superset bootstrap failed (exit {rc}); see {log_path}. Last lines:\n"
            + "\n".join(tail)
        )
    log.info("superset bootstrap finished in %.1fs", time.monotonic() - started)


def start(
    home: Path, port: int = 8088, host: str = "127.0.0.1", threads: int = 4
) -> subprocess.Popen:
    """Start Superset under gunicorn (1 worker) in its own process group."""
    _require_venv()
    home = Path(home).resolve()
    if not (home / "superset.db").exists() and not os.environ.get("SUPERSET_METADATA_URI"):
        raise SupersetError(f"{home} is not bootstrapped: run bootstrap() first")
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(GUNICORN),
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--bind",
        f"{host}:{port}",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "superset.app:create_app()",
    ]
    out = open(logs / "server.log", "ab")  # noqa: SIM115 - owned by the child's lifetime
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=home,
            env=superset_env(home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        out.close()
    proc.superset_log = logs / "server.log"  # type: ignore[attr-defined]
    log.info(
        "superset started: pid %s on http://%s:%s (log %s)",
        proc.pid,
        host,
        port,
        logs / "server.log",
    )
    return proc


def wait_until_healthy(
    url: str, timeout: float = 180, proc: subprocess.Popen | None = None
) -> None:
    """Poll ``<url>/health`` until it answers ``OK``; fail early if ``proc`` died."""
    health = url.rstrip("/") + "/health"
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SupersetError(
                f"superset exited with {proc.returncode} before becoming healthy"
                + _log_tail(getattr(proc, "superset_log", None))
            )
        try:
            with urllib.request.urlopen(health, timeout=5) as resp:  # noqa: S310 - loopback
                body = resp.read().decode("utf-8", "replace").strip()
                if resp.status == 200 and body == "OK":
                    return
                last_error = f"HTTP {resp.status}: {body[:100]}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(1)
    raise SupersetError(
        f"superset at {url} not healthy after {timeout}s ({last_error})"
        + _log_tail(getattr(proc, "superset_log", None) if proc else None)
    )


def stop(proc: subprocess.Popen, timeout: float = 30) -> int | None:
    """Stop the server and every process of its group; return its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("superset (pid %s) did not stop on SIGTERM; killing", proc.pid)
    _kill_group(proc)
    return proc.returncode


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.error("superset process %s did not exit after SIGKILL", proc.pid)


def _log_tail(path: Path | None, lines: int = 40) -> str:
    if not path or not Path(path).exists():
        return ""
    text = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    return "\nLast lines of " + str(path) + ":\n" + "\n".join(text[-lines:])
