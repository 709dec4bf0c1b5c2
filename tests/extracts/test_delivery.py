"""Delivery against real servers on loopback (asyncssh SFTP, aiosmtpd SMTP): received files are
the package byte for byte, and the faults a delivery meets are survived without a duplicate or a
partial file: SFTP down then up, SMTP refusing, a re-run of a delivered interval, a killed
upload. Alert digests name each spike once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import pytest

from extracts import run as extract_run
from extracts.config import load_config, parse_config, subscriber
from extracts.deliver import DeliveryError, Retry
from extracts.periods import Interval
from tests.extracts.servers import SftpServer, SmtpServer

pytestmark = pytest.mark.slow
JUNE = Interval(date(2026, 6, 1), date(2026, 7, 1))
FAST = Retry(attempts=5, first_delay_s=0.5, max_delay_s=2.0)


def _query(url: str, q: str, args=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall()


def _config(tmp_path: Path, sftp: SftpServer | None, smtp: SmtpServer | None, **email):
    """The shipped config with the ministry's destinations pointed at the test servers."""
    raw = load_config().model_dump(by_alias=True, mode="json")
    for sub in raw["subscribers"]:
        for dest in sub["deliveries"]:
            if dest["type"] == "sftp" and sftp:
                dest["known_hosts"] = str(sftp.known_hosts(tmp_path / "known_hosts"))
            if dest["type"] == "email":
                dest.update(email)
    return parse_config(raw, source="test")


@pytest.fixture
def servers(tmp_path: Path, monkeypatch):
    root = tmp_path / "sftp-root"
    (root / "incoming" / "monitor").mkdir(parents=True)
    sftp = SftpServer(root)
    smtp = SmtpServer()
    monkeypatch.setenv("AIRFLOW_CONN_EXTRACTS_DE_SFTP", sftp.uri())
    monkeypatch.setenv("AIRFLOW_CONN_EXTRACTS_SMTP", smtp.uri())
    yield sftp, smtp, root / "incoming" / "monitor"
    sftp.stop()


def _attachment(message) -> bytes:
    part = next(p for p in message.iter_attachments())
    return part.get_payload(decode=True)


def test_sftp_down_then_up_and_email_delivered_once_each(
    published_url: str, servers, tmp_path: Path
) -> None:
    sftp, smtp, inbox = servers
    config = _config(tmp_path, sftp, smtp)
    sub = subscriber(config, "de_federal_ministry")
    # The SFTP server is down for the first attempts and comes up while retries back off:
    # it starts 1 s after the package is built, that is after the first delivery attempt.
    built = extract_run.packages_dir(sub) / "de_federal_ministry_2026-06-01_2026-07-01.zip"

    def start_late() -> None:
        deadline = time.monotonic() + 120
        while not built.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        sftp.start()

    threading.Thread(target=start_late, daemon=True).start()
    with smtp:
        outcome = extract_run.run_subscription(published_url, config, sub, JUNE, retry=FAST)
        package = extract_run.packages_dir(sub) / outcome.package
        data = package.read_bytes()
        assert (inbox / outcome.package).read_bytes() == data
        assert [p.name for p in inbox.iterdir()] == [outcome.package]  # no temporary left
        assert len(smtp.messages) == 1
        assert _attachment(smtp.messages[0]) == data
        assert str(smtp.messages[0]["X-Package-SHA256"]).strip() == outcome.sha256
        log = _query(
            published_url,
            "SELECT destination, status, attempts, package_sha256, error IS NULL "
            "FROM extracts.deliveries ORDER BY destination",
        )
        assert [(d, s, h) for d, s, _a, h, _e in log] == [
            ("email:analysts", "delivered", outcome.sha256),
            ("sftp:ministry_sftp", "delivered", outcome.sha256),
        ]
        sftp_attempts = dict((d, a) for d, _s, a, _h, _e in log)["sftp:ministry_sftp"]
        assert sftp_attempts >= 2, "the SFTP server was down: the first attempt must fail"

        # Re-run of a delivered interval, and a backfill over it: nothing is sent twice.
        uploads = sftp.uploads
        again = extract_run.run_subscription(published_url, config, sub, JUNE, retry=FAST)
        assert again.sha256 == outcome.sha256
        assert set(again.destinations.values()) == {"already delivered"}
        extract_run.backfill(
            published_url, config, sub, Interval(date(2026, 6, 1), date(2026, 7, 1)), retry=FAST
        )
        assert sftp.uploads == uploads and len(smtp.messages) == 1
        assert _query(published_url, "SELECT count(*) FROM extracts.deliveries") == [(2,)]


def test_smtp_refusing_is_logged_retried_and_raises(
    published_url: str, servers, tmp_path: Path, monkeypatch
) -> None:
    sftp, _, _ = servers
    sftp.start()
    smtp = SmtpServer(refuse=10)
    monkeypatch.setenv("AIRFLOW_CONN_EXTRACTS_SMTP", smtp.uri())
    config = _config(tmp_path, sftp, smtp)
    sub = subscriber(config, "de_federal_ministry")
    with smtp:
        with pytest.raises(DeliveryError, match="554"):
            extract_run.run_subscription(published_url, config, sub, JUNE, retry=Retry(3, 0.1, 0.2))
        assert smtp.box.refused == 3 and not smtp.messages
        status = dict(
            _query(
                published_url,
                "SELECT destination, status || ' ' || attempts || ' ' || coalesce(error, '') "
                "FROM extracts.deliveries",
            )
        )
        assert status["email:analysts"].startswith("failed 3 SMTPDataError")
        assert status["sftp:ministry_sftp"].startswith("delivered 1")
        # The server accepts again: the next run (an Airflow retry) delivers the e-mail only.
        smtp.box.refuse = 0
        uploads = sftp.uploads
        outcome = extract_run.run_subscription(published_url, config, sub, JUNE, retry=FAST)
        assert outcome.destinations == {
            "sftp:ministry_sftp": "already delivered",
            "email:analysts": "delivered",
        }
        assert len(smtp.messages) == 1 and sftp.uploads == uploads


def test_large_package_is_linked_not_attached(published_url: str, servers, tmp_path: Path) -> None:
    sftp, smtp, _ = servers
    sftp.start()
    config = _config(tmp_path, sftp, smtp, max_attachment_bytes=1000)
    sub = subscriber(config, "de_federal_ministry")
    with smtp:
        outcome = extract_run.run_subscription(published_url, config, sub, JUNE, retry=FAST)
    message = smtp.messages[0]
    assert not list(message.iter_attachments())
    body = message.get_body().get_content()
    assert f"sftp://sftp.ministry.example.de/incoming/monitor/{outcome.package}" in body
    assert outcome.sha256 in body


def test_killed_upload_leaves_no_partial_file_under_the_final_name(
    published_url: str, servers, tmp_path: Path
) -> None:
    sftp, _, inbox = servers
    sftp.delay_s = 2.0  # every write request waits 2 s: the kill lands mid-upload
    sftp.start()
    big = tmp_path / "big.zip"
    big.write_bytes(os.urandom(4 * 1024 * 1024))
    known = sftp.known_hosts(tmp_path / "known_hosts")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                from pathlib import Path
                from extracts.config import SftpDestination
                from extracts.deliver import send_sftp
                from extracts.package import Built
                dest = SftpDestination(type="sftp", name="x", connection="AIRFLOW_CONN_EXTRACTS_DE_SFTP",
                                       path="/incoming/monitor", known_hosts={str(known)!r})
                p = Path({str(big)!r})
                send_sftp(dest, Built("pkg.zip", p, "0" * 64, p.stat().st_size))
            """),
        ],
        env={**os.environ},
    )
    part = inbox / ".pkg.zip.part"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not part.exists():
        time.sleep(0.05)
    assert part.exists(), "the upload never started"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    time.sleep(0.5)
    assert not (inbox / "pkg.zip").exists()
    # Requests are pipelined at their offsets, so the temporary may have its full size: what
    # it lacks is content.
    assert part.read_bytes() != big.read_bytes()

    # The next delivery replaces the leftover and lands the whole package.
    sftp.delay_s = 0
    config = _config(tmp_path, sftp, None)
    sub = subscriber(config, "de_federal_ministry")
    sub = sub.model_copy(update={"deliveries": [sub.deliveries[0]]})
    outcome = extract_run.run_subscription(published_url, config, sub, JUNE, retry=FAST)
    landed = inbox / outcome.package
    assert landed.read_bytes() == (extract_run.packages_dir(sub) / outcome.package).read_bytes()


def test_digest_names_each_spike_once(published_url: str, servers, tmp_path: Path) -> None:
    _, smtp, _ = servers
    spikes = _query(
        published_url,
        "SELECT country_code, city_code, city_name, area_id, day, posts, driving_terms "
        "FROM published.mart_focal_points ORDER BY day, city_code, area_id",
    )
    assert spikes, "the demo data has no published focal point"
    country, city, city_name, area, day, posts, terms = spikes[0]
    config = _config(tmp_path, None, smtp)
    raw = config.model_dump(by_alias=True, mode="json")
    digest = next(s for s in raw["subscribers"] if s["kind"] == "digest")
    digest["scope"] = {"countries": [country], "areas": [area]}
    config = parse_config(raw, source="test")
    sub = subscriber(config, digest["name"])
    want = [s for s in spikes if s[0] == country and s[3] == area]
    week = Interval(day, day + timedelta(days=1))
    with smtp:
        first = extract_run.run_subscription(published_url, config, sub, week, retry=FAST)
        assert first.package and len(smtp.messages) == 1
        text = smtp.messages[0].get_body().get_content()
        assert f"## {city_name} ({city})" in text and f"{posts} posts" in text
        for term in terms or []:
            assert term in text
        assert "/superset/dashboard/trends/?native_filters=" in text
        assert "NATIVE_FILTER-city" in text
        reported = _query(
            published_url, "SELECT city_code, area_id, day FROM extracts.reported_spikes"
        )
        in_window = [
            (c, a, d) for _k, c, _n, a, d, *_ in want if day - timedelta(days=7) <= d <= day
        ]
        assert sorted(reported) == sorted(in_window)
        # The same period again, and the next day's digest: the spikes are not named again.
        second = extract_run.run_subscription(published_url, config, sub, week, retry=FAST)
        assert second.package is None and len(smtp.messages) == 1
        nxt = Interval(day + timedelta(days=1), day + timedelta(days=2))
        extract_run.run_subscription(published_url, config, sub, nxt, retry=FAST)
        headings = [
            line
            for message in smtp.messages[1:]
            for line in message.get_body().get_content().splitlines()
            if line.startswith("## ")
        ]
        assert not [h for h in headings if f"({city})," in h and h.endswith(f", {day}")]
