"""The resilient HTTP client against a local server: 429 with Retry-After, 5xx bursts, timeouts,
truncated bodies, cut connections, rate-limit headers, size limits, errors worth no retry."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.http import (
    FetchError,
    HttpClient,
    RateLimited,
    RetryPolicy,
    parse_reset,
    parse_retry_after,
)
from tests.extractors.social.wire_server import Fault, Reply, WireServer

PAGE = json.dumps([{"id": "1", "content": "<p>hallo</p>"}]).encode()


def _ok(_request) -> Reply:
    return Reply(200, PAGE, {"content-type": "application/json"})


def _client(sleeps: list[float], **policy) -> HttpClient:
    settings = {"timeout_s": 0.5, "max_attempts": 4, "backoff_base_s": 0.1, "backoff_max_s": 0.4}
    return HttpClient(
        RetryPolicy(**{**settings, **policy}),
        user_agent="test-agent/1",
        sleep=sleeps.append,
        rng=random.Random(7),
    )


def test_429_waits_exactly_what_retry_after_says() -> None:
    sleeps: list[float] = []
    with WireServer(_ok) as server, _client(sleeps) as client:
        server.fail("/", Fault(status=429, headers={"Retry-After": "3"}))
        response = client.get_json(server.url + "/timeline")
    assert response.data[0]["id"] == "1"
    assert sleeps == [3.0] and len(server.requests) == 2


def test_retry_after_as_http_date() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= parse_retry_after(format_datetime(soon, usegmt=True)) <= 30
    assert parse_retry_after("garbage") is None and parse_retry_after("0") == 0.0


def test_5xx_burst_backs_off_exponentially_with_jitter() -> None:
    sleeps: list[float] = []
    with WireServer(_ok) as server, _client(sleeps, max_attempts=5) as client:
        server.fail("/", Fault(status=503), Fault(status=502), Fault(status=500), Fault(status=504))
        assert client.get_json(server.url + "/x").status == 200
    assert len(sleeps) == 4
    # attempt n waits in [cap/2, cap] with cap = min(0.4, 0.1 * 2^(n-1))
    for attempt, slept in enumerate(sleeps, start=1):
        cap = min(0.4, 0.1 * 2 ** (attempt - 1))
        assert cap / 2 <= slept <= cap
    assert len(set(sleeps)) == 4  # jittered, not lock-step


def test_timeouts_truncated_json_and_cut_connections_are_retried() -> None:
    sleeps: list[float] = []
    with WireServer(_ok) as server, _client(sleeps, max_attempts=5) as client:
        server.fail(
            "/",
            Fault(delay_s=1.0),  # longer than the 0.5 s timeout
            Fault(truncate_to=12),  # a valid HTTP answer with half a JSON document
            Fault(cut_connection=True),  # Content-Length promised, connection closed early
        )
        response = client.get_json(server.url + "/x")
    assert response.data == json.loads(PAGE)
    assert len(server.requests) == 4 and len(sleeps) == 3


def test_gives_up_with_a_clear_message() -> None:
    sleeps: list[float] = []
    with WireServer(_ok) as server, _client(sleeps, max_attempts=3) as client:
        server.fail("/", *[Fault(status=503)] * 3)
        with pytest.raises(
            FetchError, match=r"GET http://127.0.0.1:\d+/x: gave up after 3 attempts: HTTP 503"
        ):
            client.get_json(server.url + "/x")
    assert len(sleeps) == 2


def test_client_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    with WireServer(_ok) as server, _client(sleeps) as client:
        server.fail("/", Fault(status=404, body=b'{"error":"Record not found"}'))
        with pytest.raises(FetchError, match="HTTP 404") as error:
            client.get_json(server.url + "/missing")
    assert error.value.status == 404 and sleeps == [] and len(server.requests) == 1


def test_exhausted_rate_limit_waits_for_the_reset_before_the_next_request() -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()

    def limited(_request) -> Reply:
        return Reply(200, PAGE, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})

    sleeps: list[float] = []
    with WireServer(limited) as server, _client(sleeps) as client:
        client.get_json(server.url + "/a")
        assert sleeps == []  # the first request needed no wait
        client.get_json(server.url + "/b")
    # measured on the server clock (its Date header has whole seconds)
    assert len(sleeps) == 1 and 0.5 < sleeps[0] <= 3.1


def test_waits_beyond_max_wait_stop_the_source() -> None:
    sleeps: list[float] = []
    with WireServer(_ok) as server, _client(sleeps, max_wait_s=10) as client:
        server.fail("/", Fault(status=429, headers={"Retry-After": "3600"}))
        with pytest.raises(RateLimited, match="asks to wait 3600 s, more than max_wait_s=10"):
            client.get_json(server.url + "/x")
    assert sleeps == []


def test_reset_header_forms() -> None:
    now = datetime(2025, 7, 17, 20, 0, tzinfo=UTC)
    assert parse_reset("2025-07-17T20:05:00.615162Z", now) == pytest.approx(300.615162)
    assert parse_reset("15", now) == 15.0  # Reddit: seconds from now
    assert parse_reset(str(now.timestamp() + 42), now) == pytest.approx(42)  # Bluesky: epoch
    assert parse_reset("soon", now) is None


def test_oversized_bodies_are_refused() -> None:
    def huge(_request) -> Reply:
        return Reply(200, b"[" + b'"x",' * 100_000 + b'"x"]')

    with (
        WireServer(huge) as server,
        _client([], max_bytes=10_000) as client,
        pytest.raises(FetchError, match="larger than 10000 bytes"),
    ):
        client.get_json(server.url + "/x")


def test_invalid_utf8_survives_decoding_for_per_record_rejection() -> None:
    def bad(_request) -> Reply:
        return Reply(
            200, b'[{"id": "1", "content": "ok \xff bad"}, {"id": "2", "content": "fine"}]'
        )

    with WireServer(bad) as server, _client([]) as client:
        data = client.get_json(server.url + "/x").data
    assert data[1]["content"] == "fine" and "\udcff" in data[0]["content"]
