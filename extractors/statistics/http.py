"""HTTP for the statistics APIs: timeouts, retries with exponential backoff, clear errors.

Statistics APIs are slow and rate-limited (PxWeb allows about 10 requests per 10 seconds;
Eurostat answers 429 or 503 under load): transient failures (connection errors, 429, 5xx) are
retried, honouring ``Retry-After``; anything else fails at once with the URL and the start of
the body, which is where these services explain what is wrong with a query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

USER_AGENT = "european-monitor-urban-integration/0.1 (+statistics connector)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(RuntimeError):
    """A request failed for good (after retries, or with a non-transient status)."""


class HttpClient:
    def __init__(
        self,
        *,
        timeout: float = 60,
        retries: int = 4,
        backoff: float = 2.0,
        max_backoff: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                return min(float(retry_after), self.max_backoff)
        return min(self.backoff * 2**attempt, self.max_backoff)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request; retry transient failures; raise :class:`FetchError` otherwise."""
        last: str = ""
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                body = response.text[:500].strip()
                last = f"HTTP {response.status_code}: {body}"
                if response.status_code not in RETRY_STATUSES:
                    raise FetchError(f"{method} {response.request.url} failed: {last}")
            if attempt < self.retries:
                delay = self._delay(attempt, response)
                log.warning(
                    "%s %s: %s; retry %d/%d in %.0fs",
                    method,
                    url,
                    last,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                self.sleep(delay)
        raise FetchError(f"{method} {url} failed after {self.retries + 1} attempts: {last}")
