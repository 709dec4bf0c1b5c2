"""Reddit: the newest posts (and optionally comments) of subreddits, and searches, via OAuth2.

Application-only OAuth2 (client credentials from the environment) on `oauth.reddit.com`.
Listings are newest first and paged with `after`; a pass covers [since, until) and is saved
after every page (bounds, `after`), so a crash resumes inside the pass, and the watermark moves
to `until` only when the pass reaches `since`. The `x-ratelimit-*` headers are honoured by the
HTTP client. Reddit serves at most about 1,000 items of a listing: a pass that ends there
before reaching `since` logs the possible gap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, HttpUrl, StringConstraints, model_validator

from core.http import FetchError, decode_json
from extractors.social.config import EnvName, secret
from extractors.social.connectors.base import (
    Connector,
    ConnectorOptions,
    Item,
    Page,
    StreamState,
    pass_progress,
    pass_window,
)
from extractors.social.text import from_epoch

log = logging.getLogger(__name__)

Subreddit = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{2,21}$")]
DELETED = frozenset({"[deleted]", "[removed]"})


class RedditOptions(ConnectorOptions):
    subreddits: list[Subreddit] = Field(default_factory=list)  # /r/<name>/new
    comments: bool = False  # also /r/<name>/comments (newest comments)
    searches: list[str] = Field(default_factory=list)  # newest posts matching each query
    search_in: Subreddit = "all"
    client_id_env: EnvName
    client_secret_env: EnvName
    api_base: HttpUrl = HttpUrl("https://oauth.reddit.com")
    token_url: HttpUrl = HttpUrl("https://www.reddit.com/api/v1/access_token")
    page_size: int = Field(100, ge=1, le=100)

    @model_validator(mode="after")
    def _something_to_read(self) -> RedditOptions:
        if not self.subreddits and not self.searches:
            raise ValueError("give 'subreddits' or 'searches' (or both)")
        return self


def thing_item(thing: Any, base: dict[str, Any], where: str) -> Item | None:
    """One listing child (`t3` post or `t1` comment) as an import record; None for the `more`
    placeholders of comment trees, which are not content."""
    if not isinstance(thing, dict):
        return Item(where, thing, error=f"record is a {type(thing).__name__}, not an object")
    kind = thing.get("kind")
    data = thing.get("data")
    if kind == "more":
        return None
    if not isinstance(data, dict):
        return Item(where, {"kind": kind}, error="field 'data' must be an object")
    name = data.get("name")
    if not name and isinstance(data.get("id"), str) and kind:
        name = f"{kind}_{data['id']}"
    position = f"{where} {name}"
    author = data.get("author")
    names = (author,) if isinstance(author, str) and author not in DELETED else ()
    author_id = (data.get("author_fullname") or author) if names else None
    if kind == "t3":
        title = data.get("title")
        body = data.get("selftext")
        if not isinstance(title, str):
            return Item(
                position, {"external_id": name}, names, "missing or non-string field 'title'"
            )
        text = f"{title}\n\n{body}" if isinstance(body, str) and body.strip() else title
    elif kind == "t1":
        text = data.get("body")
    else:
        return Item(position, {"external_id": name}, names, f"unsupported kind {kind!r}")
    return Item(
        position,
        {
            **base,
            "external_id": name,
            "created_at": from_epoch(data.get("created_utc")),
            "author_id": author_id,
            "text": text,
            "like_count": data.get("ups"),
            "reply_count": data.get("num_comments"),
            "repost_count": data.get("num_crossposts"),
        },
        names,
    )


class RedditConnector(Connector):
    kind = "reddit"
    platform = "reddit"
    Options = RedditOptions

    _token: str | None = None
    _token_expires = 0.0

    @property
    def _api(self) -> str:
        return str(self.options.api_base).rstrip("/")

    def streams(self) -> list[str]:
        names = []
        for sub in self.options.subreddits:
            names.append(f"r/{sub}/new")
            if self.options.comments:
                names.append(f"r/{sub}/comments")
        names += [f"search/{q}" for q in self.options.searches]
        return names

    def location(self) -> str:
        return self._api + "/r/{" + ",".join(self.options.subreddits) + "}"

    def scope(self) -> str:
        parts = []
        if self.options.subreddits:
            what = "posts and comments" if self.options.comments else "posts"
            parts.append(f"new {what} of " + ", ".join("r/" + s for s in self.options.subreddits))
        if self.options.searches:
            queries = ", ".join(repr(q) for q in self.options.searches)
            parts.append(f"posts matching {queries} in r/{self.options.search_in}")
        return "Reddit " + "; ".join(parts)

    def _authorise(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        client_id = secret(self.source, "client_id_env", self.options.client_id_env)
        client_secret = secret(self.source, "client_secret_env", self.options.client_secret_env)
        assert client_id and client_secret  # required=True
        response = self.http.request(
            "POST",
            str(self.options.token_url),
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            decode=decode_json,
        )
        token = response.data.get("access_token") if isinstance(response.data, dict) else None
        if not token:
            raise FetchError(f"{self.options.token_url}: no access_token in the response")
        self._token = token
        # Renew a minute early rather than meet a 401 halfway through a pass.
        self._token_expires = time.monotonic() + float(response.data.get("expires_in", 3600)) - 60
        return token

    def _listing(self, stream: str, after: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": self.options.page_size, "raw_json": 1}
        if after:
            params["after"] = after
        if stream.startswith("search/"):
            where = self.options.search_in
            path = f"/r/{where}/search"
            params.update(q=stream.removeprefix("search/"), sort="new", t="all", type="link")
            params["restrict_sr"] = "0" if where == "all" else "1"
        else:
            path = "/" + stream
        for attempt in (1, 2):
            headers = {"Authorization": f"bearer {self._authorise()}"}
            try:
                data = self.http.get_json(self._api + path, params=params, headers=headers).data
            except FetchError as exc:
                if exc.status == 401 and attempt == 1:
                    self._token = None  # revoked or expired early: one new token, then give up
                    continue
                raise
            if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
                raise ValueError(f"{path}: expected a Listing object")
            return data["data"]
        raise AssertionError("unreachable")

    def fetch(
        self, stream: str, state: StreamState, since: datetime, until: datetime
    ) -> Iterator[Page]:
        window = pass_window(state, since, until, "after")
        if window is None:
            return
        since, until, after = window
        base = self.base_record()
        lower, upper = since.timestamp(), until.timestamp()
        while True:
            listing = self._listing(stream, after)
            children = listing.get("children")
            if not isinstance(children, list):
                raise ValueError(f"{stream}: field 'children' missing or not a list")
            where = f"{stream} after {after or '-'}"
            items: list[Item] = []
            reached_start = False
            for child in children:
                data = child.get("data") if isinstance(child, dict) else None
                created = data.get("created_utc") if isinstance(data, dict) else None
                if isinstance(created, (int, float)) and not isinstance(created, bool):
                    if created >= upper:
                        continue  # newer than the window: the next run's
                    if created < lower:
                        reached_start = True  # newest first: everything after is older
                        break
                item = thing_item(child, base, where)
                if item is not None:
                    items.append(item)
            after = listing.get("after")
            if reached_start or not after or not children:
                if not reached_start and children:
                    log.warning(
                        "%s %s: the listing ended before %s; Reddit serves about 1,000 items, "
                        "older posts in the window cannot be read this way",
                        self.source.id,
                        stream,
                        since.isoformat(),
                    )
                yield Page(items, StreamState({}, until), where)
                return
            yield Page(items, pass_progress(state, since, until, "after", after), where)
