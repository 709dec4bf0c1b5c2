"""Fault tests at the level of a source run: the platform misbehaves mid-run, a source is down,
the schema drifts, the process is killed — nothing is lost, nothing is duplicated."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from extractors.social.config import load_config
from extractors.social.runner import Window, run_source, run_sources
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar, write_config
from tests.extractors.social.fakes import FakeMastodon, load, recorded_headers
from tests.extractors.social.wire_server import Fault, WireServer

PUBLIC = "mastodon/get_timeline_public_default.json"
JULY_17 = Window(datetime(2025, 7, 17, tzinfo=UTC), datetime(2025, 7, 18, tzinfo=UTC))
TIMELINE = "/api/v1/timelines/public"


def _fake(wire: Path, statuses: list[dict] | None = None) -> FakeMastodon:
    return FakeMastodon(
        {"public": statuses if statuses is not None else load(wire, PUBLIC)},
        recorded_headers(wire, "mastodon/get_timeline_public_default.response_headers.json"),
    )


def _public(make_source, server: WireServer, source_id: str = "m_public", **extra):
    return make_source(
        id=source_id,
        kind="mastodon",
        options={"instance": server.url, "timeline": "public", "page_size": 3},
        **extra,
    )


def _figures(url: str) -> tuple[int, int, int]:
    """(posts, distinct natural keys, posts counted by the coverage registry)."""
    return (
        scalar(url, "SELECT count(*) FROM raw.posts"),
        scalar(url, "SELECT count(DISTINCT (source, external_id)) FROM raw.posts"),
        scalar(url, "SELECT coalesce(sum(posts), 0) FROM raw.source_coverage_daily"),
    )


@pytest.mark.timeout(60)
def test_rate_limits_5xx_bursts_timeouts_and_truncated_pages_mid_run(
    wire: Path, warehouse_url: str, make_source
) -> None:
    fake = _fake(wire)
    with WireServer(fake) as server:
        fake.base = server.url
        server.fail(
            TIMELINE,
            Fault(),  # page 1 fine
            Fault(status=429, headers={"Retry-After": "1"}),
            Fault(status=503),
            Fault(status=502),
            Fault(),  # page 2
            Fault(delay_s=1.5),  # a timeout (the test policy waits 1 s)
            Fault(truncate_to=200),  # half a JSON page
            Fault(cut_connection=True),
        )
        started = time.monotonic()
        report = run_source(
            warehouse_url, _public(make_source, server), pepper=TEST_PEPPER, window=JULY_17
        )
    assert report.status == "succeeded", report.error
    assert report.stats["inserted"] == 20 and report.pages == 8  # 7 pages of 3 + the empty one
    assert _figures(warehouse_url) == (20, 20, 20)
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured


@pytest.mark.timeout(60)
def test_a_persistent_outage_keeps_what_landed_and_the_next_run_resumes(
    wire: Path, warehouse_url: str, make_source
) -> None:
    fake = _fake(wire)
    with WireServer(fake) as server:
        fake.base = server.url
        source = _public(make_source, server)
        server.fail(TIMELINE, Fault(), Fault(), *[Fault(status=500)] * 4)  # attempts of page 3
        broken = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=JULY_17)
        assert broken.status == "failed" and "gave up after 4 attempts: HTTP 500" in broken.error
        assert broken.stats["inserted"] == 6
        cursor = scalar(warehouse_url, "SELECT cursor FROM raw.source_cursors")
        resumed = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=JULY_17)
        first_resume_request = server.requests[-(resumed.pages)]
    assert resumed.status == "succeeded" and resumed.stats["inserted"] == 14
    assert first_resume_request.query["min_id"] == cursor["min_id"]
    assert _figures(warehouse_url) == (20, 20, 20)
    statuses = rows(
        warehouse_url, "SELECT status, inserted FROM raw.import_runs ORDER BY started_at"
    )
    assert statuses == [("failed", 6), ("succeeded", 14)]


@pytest.mark.timeout(60)
def test_schema_change_unknown_fields_and_a_missing_field(
    wire: Path, warehouse_url: str, make_source
) -> None:
    statuses = copy.deepcopy(load(wire, PUBLIC))
    for status in statuses:
        status["quote_approval"] = {"automatic": ["public"], "manual": []}  # a future field
        status["account"]["new_profile_field"] = "x"
    del statuses[4]["content"]
    del statuses[5]["created_at"]
    fake = _fake(wire, statuses)
    with WireServer(fake) as server:
        fake.base = server.url
        report = run_source(
            warehouse_url, _public(make_source, server), pepper=TEST_PEPPER, window=JULY_17
        )
    assert report.status == "succeeded"
    assert (report.stats["inserted"], report.stats["rejected"]) == (18, 2)
    reasons = rows(
        warehouse_url, "SELECT reason, position FROM raw.rejected_records ORDER BY reason"
    )
    assert [r for r, _ in reasons] == [
        "missing field 'text'",
        "missing or non-string field 'created_at'",
    ]
    assert all(p.startswith("public status ") for _, p in reasons)


@pytest.mark.timeout(60)
def test_one_failing_source_never_stops_the_others(
    wire: Path, warehouse_url: str, tmp_path: Path
) -> None:
    fake = _fake(wire)
    with WireServer(fake) as server:
        fake.base = server.url
        config = load_config(
            write_config(
                tmp_path,
                [
                    {
                        "id": "down",
                        "kind": "mastodon",
                        "options": {"instance": "http://127.0.0.1:9", "timeline": "public"},
                    },
                    {
                        "id": "missing",
                        "kind": "mastodon",
                        "options": {"instance": server.url, "hashtags": ["nothere"]},
                    },
                    {
                        "id": "up",
                        "kind": "mastodon",
                        "options": {"instance": server.url, "timeline": "public"},
                    },
                ],
            )
        )
        reports = run_sources(warehouse_url, config.sources, pepper=TEST_PEPPER, window=JULY_17)
    assert [(r.source, r.status) for r in reports] == [
        ("down", "failed"),
        ("missing", "failed"),
        ("up", "succeeded"),
    ]
    assert "ConnectError" in reports[0].error and "HTTP 404" in reports[1].error
    assert reports[2].stats["inserted"] == 20
    registry = dict(rows(warehouse_url, "SELECT source, last_run_status FROM raw.source_coverage"))
    assert registry == {"down": "failed", "missing": "failed", "up": "succeeded"}


def _run_in_subprocess(config: Path, url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "MONITOR_WAREHOUSE_URL": url, "MONITOR_PEPPER": TEST_PEPPER}
    return subprocess.Popen(
        [sys.executable, "-m", "extractors", "--config", str(config), "run", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.timeout(120)
def test_killed_mid_run_then_resumed_nothing_lost_nothing_twice(
    wire: Path, warehouse_url: str, tmp_path: Path
) -> None:
    fake = _fake(wire)
    block = threading.Event()
    with WireServer(fake) as server:
        fake.base = server.url
        spec = {
            "id": "m_kill",
            "kind": "mastodon",
            "options": {"instance": server.url, "timeline": "public", "page_size": 3},
        }
        config = write_config(tmp_path, [spec])
        # Pages 1-3 are answered; the 4th request hangs until the process is killed.
        server.fail(TIMELINE, Fault(), Fault(), Fault(), Fault(block=block))
        process = _run_in_subprocess(
            config,
            warehouse_url,
            "--source",
            "m_kill",
            "--start",
            "2025-07-17T00:00:00+00:00",
            "--end",
            "2025-07-18T00:00:00+00:00",
        )
        try:
            assert server.reached.wait(60), (
                process.stderr.read().decode() if process.poll() is not None else "no 4th request"
            )
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            block.set()
        assert process.returncode == -signal.SIGKILL
        # What the killed run committed: exactly three pages and the cursor after them.
        assert _figures(warehouse_url) == (9, 9, 9)
        cursor = scalar(warehouse_url, "SELECT cursor FROM raw.source_cursors")
        ninth = sorted(int(s["id"]) for s in load(wire, PUBLIC))[8]
        assert cursor == {"min_id": str(ninth)}
        assert rows(warehouse_url, "SELECT status FROM raw.import_runs") == [("running",)]

        before = len(server.requests)
        report = run_source(
            warehouse_url, load_config(config).get("m_kill"), pepper=TEST_PEPPER, window=JULY_17
        )
        resume_requests = server.requests[before:]
    assert report.status == "succeeded" and report.stats["inserted"] == 11
    assert resume_requests[0].query["min_id"] == str(ninth)  # resumed, not restarted
    assert _figures(warehouse_url) == (20, 20, 20)
    runs = rows(
        warehouse_url, "SELECT status, inserted, error FROM raw.import_runs ORDER BY started_at"
    )
    assert [(s, n) for s, n, _ in runs] == [("failed", 0), ("succeeded", 11)]
    assert runs[0][2].startswith("interrupted")


@pytest.mark.timeout(120)
def test_killed_file_import_resumes_at_the_next_record(warehouse_url: str, tmp_path: Path) -> None:
    total = 60_000
    with (tmp_path / "big.ndjson").open("w", encoding="utf-8") as out:
        for i in range(total):
            record = {
                "platform": "x_import",
                "external_id": f"x{i}",
                "created_at": f"2026-02-{1 + i % 28:02d}T10:00:00Z",
                "text": f"Sprachkurs {i} in Wien",
                "lang": "de",
                "city_code": "AT001C",
            }
            out.write(json.dumps(record) + "\n")
    config = write_config(
        tmp_path,
        [{"id": "big_file", "kind": "file", "options": {"path": "big.ndjson", "batch_size": 500}}],
    )
    process = _run_in_subprocess(config, warehouse_url, "--source", "big_file")
    landed_at_kill = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            found = rows(
                warehouse_url, "SELECT cursor FROM raw.source_cursors WHERE source = 'big_file'"
            )
            if found and found[0][0]["records"] >= 5_000:
                process.send_signal(signal.SIGKILL)
                landed_at_kill = found[0][0]["records"]
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
    assert landed_at_kill is not None and process.returncode == -signal.SIGKILL, (
        "killed before the end"
    )
    cursor = scalar(warehouse_url, "SELECT cursor FROM raw.source_cursors")
    assert cursor["done"] is False and cursor["records"] < total
    assert scalar(warehouse_url, "SELECT count(*) FROM raw.posts") == cursor["records"]

    report = run_source(warehouse_url, load_config(config).get("big_file"), pepper=TEST_PEPPER)
    assert report.stats["records_read"] == total - cursor["records"]  # resumed at the next record
    assert report.stats["inserted"] == total - cursor["records"] and report.stats["unchanged"] == 0
    assert _figures(warehouse_url) == (total, total, total)
