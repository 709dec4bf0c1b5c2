"""Bluesky: `app.bsky.feed.searchPosts`, newest first, paged with the response's `cursor`.

A pass covers [since, until) with `sort=latest`; the pass (its bounds and the paging cursor) is
saved after every page, so a crash resumes inside the pass, and the watermark moves to `until`
only when the pass is complete. The session (app password from the environment) is created when
configured and refreshed when the server says the token expired.

Post URIs (`at://did:plc:.../app.bsky.feed.post/...`) contain the author's DID, which resolves to
the account: the natural key stored is a keyed hash of the URI (`post_key`), never the URI.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import Field, HttpUrl, model_validator

from core.http import FetchError, decode_json
from extractors.social.config import EnvName, LangCode, secret
from extractors.social.connectors.base import (
    Connector,
    ConnectorOptions,
    Item,
    Page,
    StreamState,
    pass_progress,
    pass_window,
)
from extractors.social.redact import pseudonym
from extractors.social.text import iso_utc, primary_language

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"


class BlueskyOptions(ConnectorOptions):
    queries: list[str] = Field(min_length=1)  # search terms, Lucene-like syntax of the service
    service: HttpUrl = HttpUrl("https://api.bsky.app")  # public AppView; a PDS when logged in
    lang: LangCode | None = None  # the service's language filter (default: the one declared)
    page_size: int = Field(100, ge=1, le=100)
    identifier_env: EnvName | None = None  # handle or e-mail of the account, from the env
    app_password_env: EnvName | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> BlueskyOptions:
        if bool(self.identifier_env) != bool(self.app_password_env):
            raise ValueError("give both 'identifier_env' and 'app_password_env', or neither")
        return self


def post_key(uri: str, pepper: str) -> str:
    """The natural key of a Bluesky post: a keyed hash of its AT URI (no DID stored)."""
    return pseudonym("bluesky-post", uri, pepper)


def _tags(record: dict[str, Any]) -> list[str]:
    tags = [t for t in record.get("tags") or () if isinstance(t, str)]
    for facet in record.get("facets") or ():
        for feature in (facet or {}).get("features") or ():
            if isinstance(feature, dict) and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
    return tags


def post_item(post: Any, base: dict[str, Any], where: str, pepper: str) -> Item:
    """One `app.bsky.feed.defs#postView` as an import record."""
    if not isinstance(post, dict):
        return Item(where, post, error=f"record is a {type(post).__name__}, not an object")
    uri = post.get("uri")
    key = post_key(uri, pepper) if isinstance(uri, str) and uri.startswith("at://") else None
    position = f"{where} post {key}"
    author = post.get("author")
    record = post.get("record")
    names: tuple[str, ...] = ()
    did = None
    if isinstance(author, dict):
        did = author.get("did")
        names = tuple(
            n for n in (author.get("handle"), author.get("displayName")) if isinstance(n, str)
        )
    if not isinstance(record, dict):
        return Item(position, {"external_id": key}, names, "field 'record' must be an object")
    if key is None:
        return Item(position, {"external_id": None}, names, "missing or invalid field 'uri'")
    langs = record.get("langs")
    lang = primary_language(langs[0]) if isinstance(langs, list) and langs else None
    return Item(
        position,
        {
            **base,
            "external_id": key,
            "created_at": record.get("createdAt"),
            "author_id": did,
            "text": record.get("text"),
            "lang": lang or base.get("lang"),
            "like_count": post.get("likeCount"),
            "reply_count": post.get("replyCount"),
            "repost_count": post.get("repostCount"),
            "hashtags": _tags(record) or None,
        },
        names,
    )


class BlueskyConnector(Connector):
    kind = "bluesky"
    platform = "bluesky"
    Options = BlueskyOptions

    _session: dict[str, str] | None = None

    @property
    def _service(self) -> str:
        return str(self.options.service).rstrip("/")

    def streams(self) -> list[str]:
        return [f"q/{q}" for q in self.options.queries]

    def location(self) -> str:
        return self._service + SEARCH

    def scope(self) -> str:
        lang = self._lang()
        within = f" in {lang}" if lang else ""
        return "Bluesky posts matching " + ", ".join(repr(q) for q in self.options.queries) + within

    def _lang(self) -> str | None:
        langs = self.source.languages
        return self.options.lang or (langs[0] if len(langs) == 1 else None)

    # -- session ------------------------------------------------------------------------------

    def _login(self) -> None:
        opts = self.options
        if not opts.identifier_env:
            return
        identifier = secret(self.source, "identifier_env", opts.identifier_env)
        password = secret(self.source, "app_password_env", opts.app_password_env)
        response = self.http.request(
            "POST",
            self._service + CREATE_SESSION,
            json_body={"identifier": identifier, "password": password},
            decode=decode_json,
        )
        self._session = response.data

    def _refresh(self) -> None:
        assert self._session is not None
        try:
            response = self.http.request(
                "POST",
                self._service + REFRESH_SESSION,
                headers={"Authorization": f"Bearer {self._session['refreshJwt']}"},
                decode=decode_json,
            )
            self._session = response.data
        except FetchError:
            self._login()  # the refresh token expired too: log in again

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.options.identifier_env and self._session is None:
            self._login()
        for attempt in (1, 2):
            headers = (
                {"Authorization": f"Bearer {self._session['accessJwt']}"} if self._session else {}
            )
            try:
                data = self.http.get_json(
                    self._service + SEARCH, params=params, headers=headers
                ).data
            except FetchError as exc:
                expired = exc.status in (400, 401) and "xpired" in str(exc)
                if attempt == 1 and expired and self._session is not None:
                    self._refresh()
                    continue
                if exc.status in (401, 403) and self._session is None:
                    raise FetchError(
                        f"{exc} -- the service requires a session: set options.identifier_env and "
                        "options.app_password_env (an app password) for this source",
                        status=exc.status,
                    ) from exc
                raise
            if not isinstance(data, dict):
                raise ValueError(f"searchPosts: expected an object, got {type(data).__name__}")
            return data
        raise AssertionError("unreachable")

    # -- paging -------------------------------------------------------------------------------

    def fetch(
        self, stream: str, state: StreamState, since: datetime, until: datetime
    ) -> Iterator[Page]:
        query = stream.removeprefix("q/")
        window = pass_window(state, since, until, "cursor")
        if window is None:
            return
        since, until, cursor = window
        base = self.base_record()
        lang = self._lang()
        seen_cursors: set[str] = set()
        while True:
            params: dict[str, Any] = {
                "q": query,
                "sort": "latest",
                "since": iso_utc(since),
                "until": iso_utc(until),
                "limit": self.options.page_size,
            }
            if lang:
                params["lang"] = lang
            if cursor:
                params["cursor"] = cursor
            data = self._search(params)
            posts = data.get("posts")
            if not isinstance(posts, list):
                raise ValueError(
                    f"searchPosts: field 'posts' missing or not a list: {list(data)[:10]}"
                )
            where = f"{stream} cursor {cursor or 0}"
            items = [post_item(p, base, where, self.context.pepper) for p in posts]
            next_cursor = data.get("cursor")
            done = not posts or not isinstance(next_cursor, str) or next_cursor in seen_cursors
            if done:
                yield Page(items, StreamState({}, until), where)
                return
            seen_cursors.add(next_cursor)
            cursor = next_cursor
            yield Page(items, pass_progress(state, since, until, "cursor", cursor), where)
