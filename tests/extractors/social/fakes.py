"""Platform fakes for the wire server: they serve the *recorded* objects of
`../shared/data/wire/` (read at test time, never copied) with each platform's real paging
semantics and response headers, so the connectors meet their true wire format."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.extractors.social.wire_server import Reply, Request

JSON = "application/json; charset=utf-8"


def load(wire: Path, name: str) -> Any:
    return json.loads((wire / name).read_text(encoding="utf-8"))


def recorded_headers(wire: Path, name: str) -> dict[str, str]:
    """A recording's response headers (Reddit's are lists), minus transport ones."""
    headers = load(wire, name)["headers"]
    flat = {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in headers.items()}
    for transport in (
        "content-encoding",
        "content-length",
        "transfer-encoding",
        "connection",
        "date",
    ):
        flat.pop(transport, None)
    return flat


def _json(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Reply(status, body, {"content-type": JSON, **(headers or {})})


class FakeMastodon:
    """Timelines: `GET /api/v1/timelines/tag/<tag>` and `/api/v1/timelines/public[?local=true]`
    with max_id / min_id / since_id / limit and `Link` headers like the recorded ones."""

    def __init__(self, timelines: dict[str, list[dict]], headers: dict[str, str]) -> None:
        self.timelines = {
            key: sorted(statuses, key=lambda s: int(s["id"]), reverse=True)
            for key, statuses in timelines.items()
        }
        self.headers = headers
        self.base = ""  # set by the test once the server has a port

    def timeline_key(self, request: Request) -> str | None:
        if request.path.startswith("/api/v1/timelines/tag/"):
            return "tag/" + request.path.rsplit("/", 1)[1].lower()
        if request.path == "/api/v1/timelines/public":
            return "local" if request.query.get("local") in ("true", "TRUE", "1") else "public"
        return None

    def __call__(self, request: Request) -> Reply:
        key = self.timeline_key(request)
        if key is None or key not in self.timelines:
            return _json({"error": "Record not found"}, status=404)
        statuses = self.timelines[key]
        q = request.query
        limit = min(int(q.get("limit", 20)), 40)
        if "min_id" in q:  # the statuses right after min_id (oldest first), returned newest first
            newer = [s for s in reversed(statuses) if int(s["id"]) > int(q["min_id"])]
            page = list(reversed(newer[:limit]))
        else:
            page = statuses
            if "max_id" in q:
                page = [s for s in page if int(s["id"]) < int(q["max_id"])]
            if "since_id" in q:
                page = [s for s in page if int(s["id"]) > int(q["since_id"])]
            page = page[:limit]
        headers = dict(self.headers)
        if page:
            params = {k: v for k, v in q.items() if k not in ("max_id", "min_id", "since_id")}
            url = f"{self.base}{request.path}?"
            older = urlencode({**params, "max_id": page[-1]["id"]})
            newer_q = urlencode({**params, "min_id": page[0]["id"]})
            headers["link"] = f'<{url}{older}>; rel="next", <{url}{newer_q}>; rel="prev"'
        return _json(page, headers)


class FakeBluesky:
    """`GET /xrpc/app.bsky.feed.searchPosts` (q, sort, since, until, lang, limit, cursor) and,
    when `require_auth`, the session endpoints with tokens that expire after `token_uses`."""

    def __init__(self, posts: list[dict], *, require_auth: bool = False, token_uses: int = 10**9):
        self.posts = sorted(posts, key=lambda p: p["record"]["createdAt"], reverse=True)
        self.require_auth = require_auth
        self.token_uses = token_uses
        self.sessions = 0
        self.refreshes = 0
        self._uses: dict[str, int] = {}

    def _issue(self) -> dict[str, str]:
        n = self.sessions + self.refreshes
        access, refresh = f"access-{n}", f"refresh-{n}"
        self._uses[access] = 0
        return {"accessJwt": access, "refreshJwt": refresh, "did": "did:plc:fake", "handle": "x"}

    def __call__(self, request: Request) -> Reply:
        if request.path.endswith("createSession"):
            body = json.loads(request.body)
            if body.get("password") != "app-password-123":
                return _json({"error": "AuthenticationRequired"}, status=401)
            self.sessions += 1
            return _json(self._issue())
        if request.path.endswith("refreshSession"):
            self.refreshes += 1
            return _json(self._issue())
        if not request.path.endswith("searchPosts"):
            return _json({"error": "MethodNotImplemented"}, status=501)
        if self.require_auth:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self._uses:
                return _json(
                    {"error": "AuthenticationRequired", "message": "Authentication Required"},
                    status=401,
                )
            self._uses[token] += 1
            if self._uses[token] > self.token_uses:
                return _json({"error": "ExpiredToken", "message": "Token has expired"}, status=400)
        q = request.query
        posts = [
            p
            for p in self.posts
            if (not q.get("since") or p["record"]["createdAt"] >= q["since"][:19])
            and (not q.get("until") or p["record"]["createdAt"] < q["until"][:19])
            and (not q.get("lang") or q["lang"] in (p["record"].get("langs") or ()))
        ]
        offset = int(q.get("cursor") or 0)
        limit = int(q.get("limit", 25))
        page = posts[offset : offset + limit]
        data: dict[str, Any] = {"posts": page, "hitsTotal": len(posts)}
        if offset + limit < len(posts):
            data["cursor"] = str(offset + limit)
        return _json(data, {"ratelimit-limit": "3000", "ratelimit-remaining": "2999"})


class FakeReddit:
    """OAuth2 client credentials and listings (`/r/<sub>/new`, `/r/<sub>/comments`,
    `/r/<sub>/search`) paged by `after`, with the recorded `x-ratelimit-*` headers."""

    def __init__(self, listings: dict[str, list[dict]], headers: dict[str, str]) -> None:
        self.listings = {
            k: sorted(v, key=lambda c: c["data"].get("created_utc", 0), reverse=True)
            for k, v in listings.items()
        }
        self.headers = headers
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()

    def __call__(self, request: Request) -> Reply:
        if request.path == "/api/v1/access_token":
            auth = request.headers.get("authorization", "")
            if base64.b64decode(auth.removeprefix("Basic ")).decode() != "cid:csecret":
                return _json({"message": "Unauthorized", "error": 401}, status=401)
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
            self.valid_tokens.add(token)
            return _json(
                {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
            )
        token = request.headers.get("authorization", "").removeprefix("bearer ")
        if token not in self.valid_tokens:
            return _json({"message": "Unauthorized", "error": 401}, status=401)
        key = request.path.strip("/")
        if key not in self.listings:
            return _json({"message": "Not Found", "error": 404}, status=404)
        children = self.listings[key]
        if request.query.get("after"):
            names = [c["data"]["name"] for c in children]
            children = children[names.index(request.query["after"]) + 1 :]
        limit = int(request.query.get("limit", 25))
        page = children[:limit]
        after = page[-1]["data"]["name"] if len(children) > limit else None
        listing = {
            "kind": "Listing",
            "data": {
                "after": after,
                "dist": len(page),
                "modhash": "",
                "geo_filter": "",
                "children": page,
                "before": None,
            },
        }
        return _json(listing, self.headers)


class FakeFeed:
    """A feed with `ETag` / `Last-Modified`; a matching conditional request gets 304."""

    def __init__(self, body: bytes, content_type: str = "application/rss+xml") -> None:
        self.body = body
        self.content_type = content_type
        self.etag = '"v1"'
        self.last_modified = "Fri, 20 Jan 2017 13:32:00 GMT"

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("if-none-match") == self.etag:
            return Reply(304, b"", {"etag": self.etag})
        return Reply(
            200,
            self.body,
            {
                "content-type": self.content_type,
                "etag": self.etag,
                "last-modified": self.last_modified,
            },
        )


def flatten_comments(listing: dict) -> list[dict]:
    """Every t1 of a comment tree (the recorded submission's replies), depth first."""
    out: list[dict] = []

    def walk(children: list[dict]) -> None:
        for child in children:
            if child.get("kind") == "t1":
                out.append(child)
                replies = child["data"].get("replies")
                if isinstance(replies, dict):
                    walk(replies["data"]["children"])

    walk(listing["data"]["children"])
    return out
