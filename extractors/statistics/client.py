"""The HTTP client of the statistics APIs: the project's client with a policy for slow,
rate-limited statistics services.

PxWeb allows about 10 requests per 10 seconds and Eurostat answers 429 or 503 under load, so
transient failures are retried with a longer backoff than the social connectors use, honouring
`Retry-After`; anything else fails at once with the URL and the start of the body, which is
where these services explain what is wrong with a query. Answers can be large (whole datasets).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from core.http import HttpClient, RetryPolicy

USER_AGENT = "european-monitor-urban-integration/0.1 (+statistics connector)"


def statistics_client(
    *,
    timeout_s: float = 60.0,
    retries: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> HttpClient:
    policy = RetryPolicy(
        timeout_s=timeout_s,
        max_attempts=retries + 1,
        backoff_base_s=2.0,
        backoff_max_s=120.0,
        max_wait_s=300.0,
        max_bytes=1 << 30,
    )
    return HttpClient(policy, user_agent=USER_AGENT, sleep=sleep, transport=transport)
