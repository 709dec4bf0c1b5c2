"""Run Superset from the main virtualenv without importing it.

Superset 6.1 needs SQLAlchemy < 2, so it lives in ``.venv-superset``; this module only starts
processes there:

- ``bootstrap(home, warehouse_uri, admin_password, detail_uri=...)`` runs
  ``superset/bootstrap.py`` (db upgrade, init, admin user, the dashboards of
  ``superset/dashboards.yml``, roles, row-level security and logins of ``config/superset.yml``)
  and returns its summary. Idempotent. Progress is logged line by line and kept in
  ``home/bootstrap.log``; a failure raises :class:`SupersetError` with the log tail.
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
import json
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
    home: Path,
    warehouse_uri: str,
    admin_password: str,
    port: int = 8088,
    timeout: float = 900,
    detail_uri: str | None = None,
) -> dict:
    """Run ``superset/bootstrap.py`` in ``.venv-superset``; return its summary.

    ``warehouse_uri`` connects as the BI login (schema ``published``), ``detail_uri`` (optional)
    as the detail login (``published_detail``: keyword contexts). Raises with the log tail on
    failure.
    """
    _require_venv()
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = superset_env(home)
    env["SUPERSET_WAREHOUSE_URI"] = warehouse_uri
    env["SUPERSET_ADMIN_PASSWORD"] = admin_password
    if detail_uri:
        env["SUPERSET_DETAIL_URI"] = detail_uri
    else:
        env.pop("SUPERSET_DETAIL_URI", None)
    cmd = [str(SUPERSET_PYTHON), str(BOOTSTRAP_SCRIPT), "--home", str(home), "--port", str(port)]
    log_path = home / "bootstrap.log"
    tail: collections.deque[str] = collections.deque(maxlen=60)
    summary: dict = {}
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
                if line.startswith("BOOTSTRAP OK "):
                    summary = json.loads(line.removeprefix("BOOTSTRAP OK "))
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
    return summary


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


# --- dashboards in headless Chromium (tests and the screenshots of docs/) ---

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

RENDER_STATE_JS = """
const holders = Array.from(
  document.querySelectorAll('[data-test="dashboard-component-chart-holder"]'))
  .filter(h => h.querySelector('[data-test="slice-header"]'));  // charts, not markdown
return holders.map(h => {
  const title = h.querySelector(
    '[data-test="slice-header"] .header-title, [data-test="editable-title"]');
  const container = h.querySelector('[data-test="chart-container"]');
  const canvases = container ? Array.from(container.querySelectorAll('canvas')) : [];
  return {
    title: title ? title.innerText.trim() : null,
    hasContainer: !!container,
    canvases: canvases.filter(c => c.width > 0 && c.height > 0).length,
    svgs: container ? container.querySelectorAll('svg').length : 0,
    tableRows: container ? container.querySelectorAll('table tbody tr').length : 0,
    bigNumber: container ? !!container.querySelector('.header-line, .big-number') : false,
    text: container ? container.innerText.trim().slice(0, 400) : '',
    loading: !!h.querySelector('.loading, [data-test="loading-indicator"]'),
    error: !!h.querySelector('[role="alert"], .ant-alert-error, [data-test="error-message"]'),
  };
});
"""


def _chrome(profile: Path, width: int = 1600, height: int = 2200):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise SupersetError(f"{CHROMIUM} or {CHROMEDRIVER} missing: run bin/install --browser")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def render_dashboards(
    url: str,
    username: str,
    password: str,
    slugs: list[str],
    out_dir: Path | None = None,
    timeout: float = 180,
) -> dict[str, list[dict]]:
    """Log in through the form, open each dashboard and wait until every chart has drawn (or
    shows an error); return each chart holder's state, and save ``<slug>.png`` in ``out_dir``."""
    import tempfile

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    states: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        driver = _chrome(Path(profile))
        try:
            driver.set_page_load_timeout(90)
            driver.get(f"{url}/login/")
            wait = WebDriverWait(driver, 90)
            wait.until(ec.presence_of_element_located((By.ID, "username")))
            driver.find_element(By.ID, "username").send_keys(username)
            driver.find_element(By.ID, "password").send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait.until(lambda d: "/login" not in d.current_url)
            for slug in slugs:
                driver.get(f"{url}/superset/dashboard/{slug}/")
                state: list[dict] = []

                def drawn(d, slug=slug) -> bool:
                    nonlocal state
                    state = d.execute_script(RENDER_STATE_JS)
                    if not state or any(s["loading"] for s in state):
                        return False
                    return all(
                        s["error"]
                        or s["canvases"]
                        or s["tableRows"]
                        or s["bigNumber"]
                        or (s["svgs"] and s["text"])
                        for s in state
                    )

                try:
                    WebDriverWait(driver, timeout, poll_frequency=1).until(drawn)
                except Exception as exc:
                    log.warning("dashboard %s not fully drawn: %s", slug, exc)
                time.sleep(2)  # ECharts animations, for a readable picture
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    height = driver.execute_script(
                        "return Math.max(document.body.scrollHeight, 1200)"
                    )
                    driver.set_window_size(1600, min(int(height) + 200, 6000))
                    time.sleep(1)
                    driver.save_screenshot(str(out_dir / f"{slug}.png"))
                states[slug] = state
        finally:
            driver.quit()
    return states


def screenshots(home: Path, out_dir: Path, username: str, password: str, port: int = 8093) -> None:
    """Serve the bootstrapped ``home``, save a picture of every dashboard into ``out_dir``, stop."""
    import yaml

    spec = yaml.safe_load((REPO / "superset" / "dashboards.yml").read_text(encoding="utf-8"))
    slugs = [d["slug"] for d in spec["dashboards"]]
    proc = start(home, port=port)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", timeout=180, proc=proc)
        states = render_dashboards(f"http://127.0.0.1:{port}", username, password, slugs, out_dir)
    finally:
        stop(proc)
    for slug, state in states.items():
        bad = [s["title"] for s in state if s["error"]]
        print(
            f"{out_dir / (slug + '.png')}: {len(state)} charts"
            + (f", errors: {bad}" if bad else "")
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m monitor.superset_service screenshots``: the pictures of docs/screenshots."""
    import argparse

    from core.settings import load_settings
    from monitor.secrets import ensure_local_secrets

    settings = load_settings()
    parser = argparse.ArgumentParser(description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    shots = sub.add_parser("screenshots", help="every dashboard as a PNG (after bin/run)")
    shots.add_argument("--home", type=Path, default=settings.home / "superset")
    shots.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    shots.add_argument("--port", type=int, default=8093)
    shots.add_argument("--user", default="admin")
    args = parser.parse_args(argv)
    secrets = ensure_local_secrets(settings.home)
    os.environ.setdefault("SUPERSET_SECRET_KEY", secrets["SUPERSET_SECRET_KEY"])
    password = secrets["SUPERSET_ADMIN_PASSWORD"]
    if args.user != "admin":
        stored = dict(
            line.split("=", 1)
            for line in (args.home / "passwords.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        password = stored[args.user]
    screenshots(args.home, args.out, args.user, password, args.port)
    return 0


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
