"""The project's HTTP client: timeouts, retries, backoff, rate limits, size limits. Every stage
that fetches (the social connectors, the statistics APIs) uses it with its own `RetryPolicy`.

- Transient failures are retried: timeouts, connection errors, 429, 500/502/503/504, and a body
  that does not decode (a truncated JSON page). The delay is exponential with jitter
  (`base * 2^(n-1)`, capped, randomised over its upper half so parallel workers spread out),
  unless the server says how long to wait: `Retry-After` (seconds or an HTTP date) wins.
- Rate-limit headers are honoured before the server has to refuse: when
  `x-ratelimit-remaining` (Mastodon, Reddit) or `ratelimit-remaining` (Bluesky) falls to
  `min_remaining`, the next request waits for the matching `*-reset` (an ISO time, epoch seconds
  or seconds from now).
- A wait longer than `max_wait_s` is not slept through: `RateLimited` stops the source, whose
  cursor is saved, and the next run resumes.
- Bodies are read in chunks and refused beyond `max_bytes`, so one response cannot exhaust
  memory; JSON is decoded with `surrogateescape` so one invalid UTF-8 byte rejects one record,
  not the whole page.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = 20.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_wait_s: float = 300.0  # longest Retry-After / rate-limit wait slept through in a run
    min_remaining: float = 1.0  # wait for the reset when the remaining budget is at or below
    max_bytes: int = 64 * 1024 * 1024


class FetchError(RuntimeError):
    """A request failed for good (after retries, or with a status that retrying cannot fix)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(FetchError):
    """The server asks us to wait longer than the policy allows within one run."""


class MalformedBody(ValueError):
    """Raised by a decoder when a body is incomplete or unreadable (retried like a 5xx)."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    data: Any = None  # the decoded body, when a decoder was given


def decode_json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8", errors="surrogateescape"))
    except ValueError as exc:  # JSONDecodeError: truncated or not JSON at all
        raise MalformedBody(f"invalid JSON ({exc})") from None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_reset(value: str | None, server_now: datetime) -> float | None:
    """Seconds until a rate-limit window resets: ISO time (Mastodon), epoch seconds (Bluesky) or
    seconds from now (Reddit). Times are compared with the server's clock (its Date header)."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - server_now).total_seconds())
    if number > 1_000_000_000:  # an epoch timestamp, not a duration
        return max(0.0, number - server_now.timestamp())
    return max(0.0, number)


def _server_now(headers: httpx.Headers) -> datetime:
    date = headers.get("date")
    if date:
        try:
            parsed = email.utils.parsedate_to_datetime(date)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def rate_limit_wait(headers: httpx.Headers, min_remaining: float) -> float | None:
    """Seconds to wait before the next request, from rate-limit headers; None if no need."""
    for prefix in ("x-ratelimit-", "ratelimit-"):
        remaining = headers.get(prefix + "remaining")
        if remaining is None:
            continue
        try:
            left = float(remaining)
        except ValueError:
            continue
        if left > min_remaining:
            return None
        return parse_reset(headers.get(prefix + "reset"), _server_now(headers))
    return None


class HttpClient:
    """GET/POST with the retry policy. One per source run; not thread-safe."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        user_agent: str,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._not_before = 0.0  # monotonic time before which no request is sent
        self.requests = 0
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout_s),
            headers={"User-Agent": user_agent, **(headers or {})},
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_max_s, self.policy.backoff_base_s * 2 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _wait(self, seconds: float, why: str, url: str) -> None:
        if seconds > self.policy.max_wait_s:
            raise RateLimited(
                f"{url}: {why} asks to wait {seconds:.0f} s, more than max_wait_s="
                f"{self.policy.max_wait_s:.0f}; the source stops here and resumes next run",
                status=429,
            )
        if seconds > 0:
            log.info("%s: waiting %.1f s (%s)", url, seconds, why)
            self._sleep(seconds)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, decode=decode_json, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        decode: Callable[[bytes], Any] | None = None,
        ok_statuses: frozenset[int] = frozenset({304}),
    ) -> Response:
        """Send with retries; return the response (2xx or one of `ok_statuses`) with its body
        decoded by `decode` (a `MalformedBody` from it is retried), or raise `FetchError`."""
        policy = self.policy
        last = "no attempt"
        for attempt in range(1, policy.max_attempts + 1):
            pause = self._not_before - time.monotonic()
            if pause > 0:
                self._wait(pause, "rate-limit budget exhausted", url)
            delay: float | None = None
            try:
                response = self._send(method, url, params, headers, json_body, data, auth)
            except httpx.TimeoutException as exc:
                last = f"timeout after {policy.timeout_s:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                wait = rate_limit_wait(response.headers, policy.min_remaining)
                self._not_before = time.monotonic() + wait if wait else 0.0
                status = response.status
                if status in RETRY_STATUSES:
                    last = f"HTTP {status}"
                    delay = parse_retry_after(response.headers.get("retry-after"))
                    if delay is None and status == 429:
                        delay = wait  # a 429 without Retry-After: the rate-limit reset, if any
                    if delay is not None:
                        self._not_before = 0.0
                        if attempt < policy.max_attempts:
                            self._wait(delay, f"HTTP {status} Retry-After", url)
                            continue
                elif status >= 400 and status not in ok_statuses:
                    snippet = response.content[:300].decode("utf-8", errors="replace")
                    raise FetchError(f"{method} {url}: HTTP {status}: {snippet}", status=status)
                else:
                    if decode is None or status in ok_statuses:
                        return response
                    try:
                        return Response(
                            response.url,
                            status,
                            response.headers,
                            response.content,
                            decode(response.content),
                        )
                    except MalformedBody as exc:
                        last = f"malformed body: {exc}"
            if attempt == policy.max_attempts:
                break
            delay = self.backoff(attempt)
            log.warning(
                "%s %s: %s; retry %d/%d in %.2f s",
                method,
                url,
                last,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            self._sleep(delay)
        raise FetchError(f"{method} {url}: gave up after {policy.max_attempts} attempts: {last}")

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
    ) -> Response:
        self.requests += 1
        with self._client.stream(
            method,
            url,
            params=params,
            headers=headers,
            json=json_body,
            data=data,
            auth=auth,
        ) as response:
            chunks = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise FetchError(
                        f"{method} {url}: response larger than {self.policy.max_bytes} bytes",
                        status=response.status_code,
                    )
                chunks.append(chunk)
            return Response(
                str(response.url), response.status_code, response.headers, b"".join(chunks)
            )
