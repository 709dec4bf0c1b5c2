"""Mastodon: hashtag timelines and the public (federated) or local timeline of an instance.

Paging walks forward in time with `min_id` (following the `Link: rel="prev"` URL the server
returns), so the cursor is simply the highest status id landed. Mastodon ids are snowflakes of
the time a status reached the instance (`milliseconds << 16`; never before its creation, later
for remote statuses), which turns a window's bounds into ids: a first run or a backfill starts
at `since` and stops at `until` without reading anything outside. Windows are therefore by
arrival at the instance. Reblogs land as the original status. Only public and unlisted statuses
are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, HttpUrl, StringConstraints, model_validator

from extractors.social.config import EnvName, secret
from extractors.social.connectors.base import Connector, ConnectorOptions, Item, Page, StreamState
from extractors.social.text import html_to_text, primary_language

_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')
VISIBLE = frozenset({"public", "unlisted"})
Hashtag = Annotated[str, StringConstraints(pattern=r"^#?\w+$")]


class MastodonOptions(ConnectorOptions):
    instance: HttpUrl
    timeline: Literal["hashtag", "public", "local"] = "hashtag"
    hashtags: list[Hashtag] = Field(default_factory=list)
    page_size: int = Field(40, ge=1, le=40)
    access_token_env: EnvName | None = None  # instances that require a token for timelines

    @model_validator(mode="after")
    def _hashtags_for_hashtag_timeline(self) -> MastodonOptions:
        if self.timeline == "hashtag" and not self.hashtags:
            raise ValueError("timeline 'hashtag' needs at least one entry in 'hashtags'")
        if self.timeline != "hashtag" and self.hashtags:
            raise ValueError(f"'hashtags' only apply to timeline 'hashtag', not {self.timeline!r}")
        return self


def snowflake(moment: datetime) -> int:
    """The smallest Mastodon id a status created at `moment` can have."""
    return int(moment.timestamp() * 1000) << 16


def snowflake_time(status_id: int) -> datetime:
    return datetime.fromtimestamp((status_id >> 16) / 1000, UTC)


def parse_links(header: str | None) -> dict[str, str]:
    """`Link: <url>; rel="next", <url>; rel="prev"` -> {"next": url, "prev": url}."""
    return {rel: url for url, rel in _LINK.findall(header or "")}


def status_item(status: Any, base: dict[str, Any], where: str) -> Item:
    """One status (as in any timeline or `GET /api/v1/statuses/:id`) as an import record."""
    if not isinstance(status, dict):
        return Item(where, status, error=f"record is a {type(status).__name__}, not an object")
    original = status.get("reblog") if isinstance(status.get("reblog"), dict) else status
    status_id = original.get("id")
    position = f"{where} status {status_id}"
    account = original.get("account")
    identities: list[str] = []
    author = None
    if isinstance(account, dict):
        author = account.get("uri") or account.get("url") or account.get("acct")
        identities += [account.get(k) for k in ("username", "acct", "display_name")]  # type: ignore[misc]
    elif account is not None:
        return Item(position, {"external_id": status_id}, error="field 'account' must be an object")
    for mention in original.get("mentions") or ():
        if isinstance(mention, dict):
            identities += [mention.get("username"), mention.get("acct")]  # type: ignore[list-item]
    names = tuple(n for n in identities if isinstance(n, str) and n)
    visibility = original.get("visibility")
    if visibility is not None and visibility not in VISIBLE:
        # Not meant for the public: keep only why, never the content.
        return Item(
            position, {"external_id": status_id}, names, f"not public (visibility {visibility!r})"
        )
    content = original.get("content")
    if content is not None and not isinstance(content, str):
        return Item(position, {"external_id": status_id}, names, "field 'content' must be a string")
    spoiler = original.get("spoiler_text")
    text = html_to_text(content or "")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}"  # a content warning is part of what was said
    tags = original.get("tags")
    record = {
        **base,
        "external_id": status_id,
        "created_at": original.get("created_at"),
        "author_id": author,
        "text": text,
        "lang": primary_language(original.get("language")) or base.get("lang"),
        "like_count": original.get("favourites_count"),
        "reply_count": original.get("replies_count"),
        "repost_count": original.get("reblogs_count"),
        "hashtags": [t.get("name") for t in tags if isinstance(t, dict)]
        if isinstance(tags, list)
        else None,
    }
    return Item(position, record, names)


class MastodonConnector(Connector):
    kind = "mastodon"
    platform = "mastodon"
    Options = MastodonOptions

    @property
    def _instance(self) -> str:
        return str(self.options.instance).rstrip("/")

    def streams(self) -> list[str]:
        if self.options.timeline == "hashtag":
            return [f"tag/{tag.lstrip('#').lower()}" for tag in self.options.hashtags]
        return [self.options.timeline]

    def _path(self, stream: str) -> tuple[str, dict[str, str]]:
        if stream.startswith("tag/"):
            return f"/api/v1/timelines/tag/{quote(stream[4:])}", {}
        return "/api/v1/timelines/public", {"local": "true"} if stream == "local" else {}

    def location(self) -> str:
        return f"{self._instance}/api/v1/timelines/" + (
            "tag/{" + ",".join(self.options.hashtags) + "}"
            if self.options.timeline == "hashtag"
            else self.options.timeline
        )

    def scope(self) -> str:
        host = urlsplit(self._instance).netloc
        if self.options.timeline == "hashtag":
            tags = " ".join("#" + t.lstrip("#") for t in self.options.hashtags)
            return f"Mastodon hashtags {tags} as seen from {host}"
        return f"Mastodon {self.options.timeline} timeline of {host}"

    def _headers(self) -> dict[str, str]:
        if not self.options.access_token_env:
            return {}
        token = secret(self.source, "access_token_env", self.options.access_token_env)
        return {"Authorization": f"Bearer {token}"}

    def fetch(
        self, stream: str, state: StreamState, since: datetime, until: datetime
    ) -> Iterator[Page]:
        path, params = self._path(stream)
        min_id = int(state.cursor.get("min_id") or snowflake(since))
        until_id = snowflake(until)
        if min_id >= until_id:
            return
        headers = self._headers()
        url: str | None = self._instance + path
        query: dict[str, Any] | None = {**params, "limit": self.options.page_size, "min_id": min_id}
        base = self.base_record()
        origin = urlsplit(self._instance).netloc
        while url:
            response = self.http.get_json(url, params=query, headers=headers)
            statuses = response.data
            if not isinstance(statuses, list):
                raise ValueError(
                    f"{url}: expected a list of statuses, got {type(statuses).__name__}"
                )
            items: list[Item] = []
            ordered: list[tuple[int, dict[str, Any]]] = []
            for status in statuses:
                status_id = status.get("id") if isinstance(status, dict) else None
                if isinstance(status_id, str) and status_id.isdigit():
                    ordered.append((int(status_id), status))
                else:  # schema drift: land what is wrong, keep going
                    item = status_item(status, base, stream)
                    items.append(
                        item._replace(error=item.error or "missing or non-numeric field 'id'")
                    )
            ordered.sort(key=lambda pair: pair[0])
            in_window = [s for i, s in ordered if min_id < i < until_id]
            items += [status_item(s, base, stream) for s in in_window]
            done = not statuses or len(in_window) < len(ordered)
            if in_window:
                min_id = int(in_window[-1]["id"])
            watermark = until if done else snowflake_time(min_id)
            yield Page(items, StreamState({"min_id": str(min_id)}, watermark), f"{path} min_id")
            if done:
                return
            prev = parse_links(response.headers.get("link")).get("prev")
            if prev and urlsplit(prev).netloc == origin and f"min_id={min_id}" in prev:
                url, query = prev, None  # the server's own paging URL
            else:
                url = self._instance + path
                query = {**params, "limit": self.options.page_size, "min_id": min_id}
