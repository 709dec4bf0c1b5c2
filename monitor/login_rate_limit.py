"""Login rate limiting for the Airflow API server of the local run.

The deployment's FAB auth manager limits its login endpoints itself (`[fab] auth_rate_limited`,
`auth_rate_limit`); the simple auth manager of `monitor run` has no limit at all. This ASGI
middleware, installed by the plugin in `monitor/airflow_plugins/`, gives the simple auth
manager's password logins (`POST /auth/token`, `/auth/token/cli`) the same limit, read from the
same two options: every POST from one client address counts, and past the limit the answer is
HTTP 429 (with `Retry-After`) until the fixed window passes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

DEFAULT_LIMIT = "5 per 40 second"
LOGIN_PATHS = ("/auth/token", "/auth/token/cli")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_limit(text: str) -> tuple[int, int]:
    """`"5 per 40 second"` (Flask-Limiter's notation, as FAB reads it) -> (5, 40)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*", text)
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"not a rate limit: {text!r} (e.g. '5 per 40 second')")
    return int(m.group(1)), int(m.group(2) or 1) * _UNITS[m.group(3)]


class LoginRateLimit:
    """Pure ASGI middleware: at most `limit` login POSTs per client address per window."""

    def __init__(
        self,
        app,
        limit: str = DEFAULT_LIMIT,
        paths: tuple[str, ...] = LOGIN_PATHS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limit, self.window_s = parse_limit(limit)
        self.paths = frozenset(paths)
        self.clock = clock
        self.hits: dict[tuple[str, int], int] = {}

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") in self.paths
        ):
            now = self.clock()
            window = int(now // self.window_s)
            # Only the current window's counters are needed: drop the others.
            for key in [k for k in self.hits if k[1] != window]:
                del self.hits[key]
            client = (scope.get("client") or ("unknown", 0))[0]
            count = self.hits.get((client, window), 0) + 1
            self.hits[(client, window)] = count
            if count > self.limit:
                retry = max(1, int((window + 1) * self.window_s - now))
                await _too_many(send, retry)
                return
        await self.app(scope, receive, send)


async def _too_many(send, retry_after_s: int) -> None:
    body = json.dumps({"detail": f"too many login attempts; retry in {retry_after_s} s"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after_s).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
