"""RSS and Atom: news sites, NGO blogs, ministries' press releases.

Each feed is one stream. Requests are conditional (`If-None-Match` / `If-Modified-Since` from the
previous response's `ETag` / `Last-Modified`), so an unchanged feed costs one 304. An entry's
text is its title and its full text where the feed carries it (`content:encoded`, Atom
`content`), else its summary, as plain text. Feeds only show their latest entries: there is no
way to fetch a past window, so backfills skip RSS sources.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from pydantic import Field, HttpUrl

from core.http import MalformedBody
from extractors.social.connectors.base import Connector, ConnectorOptions, Item, Page, StreamState
from extractors.social.text import html_to_text, primary_language


class RssOptions(ConnectorOptions):
    feeds: list[HttpUrl] = Field(min_length=1)
    full_text: bool = True  # prefer the entry's full content over its summary


def parse_feed(content: bytes) -> Any:
    """feedparser on the bytes; a feed that is not well-formed and yields no entries is a
    malformed (possibly truncated) body, retried by the HTTP client."""
    parsed = feedparser.parse(content)
    if parsed.get("bozo") and not parsed.get("entries"):
        raise MalformedBody(f"not a readable feed: {parsed.get('bozo_exception')}")
    return parsed


def _time(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:  # feedparser gives a UTC struct_time
            return datetime.fromtimestamp(calendar.timegm(value), UTC).isoformat()
    return None


def _people(entry: Any) -> tuple[str, ...]:
    names: list[str] = []
    for person in [entry.get("author_detail") or {}, *(entry.get("contributors") or ())]:
        names += [person.get("name"), person.get("email")]
    names.append(entry.get("author"))
    return tuple(n for n in names if isinstance(n, str) and n.strip())


def entry_item(entry: Any, base: dict[str, Any], where: str, *, full_text: bool) -> Item:
    title = html_to_text(entry.get("title") or "")
    body = ""
    contents = entry.get("content") or []
    if full_text and contents:
        body = "\n\n".join(html_to_text(c.get("value") or "") for c in contents)
    if not body:
        body = html_to_text(entry.get("summary") or "")
    text = f"{title}\n\n{body}" if title and body and body != title else (title or body)
    link = entry.get("link")
    key = entry.get("id") or link
    if not key and text:
        key = "sha256:" + hashlib.sha256(f"{title}|{_time(entry)}".encode()).hexdigest()[:32]
    people = _people(entry)
    author = entry.get("author") or (entry.get("author_detail") or {}).get("email")
    return Item(
        f"{where} {key}",
        {
            **base,
            "external_id": key,
            "created_at": _time(entry),
            "author_id": author,
            "text": text,
            "lang": base.get("lang"),
        },
        people,
    )


class RssConnector(Connector):
    kind = "rss"
    platform = "rss"
    Options = RssOptions
    supports_backfill = False

    def streams(self) -> list[str]:
        return [str(url) for url in self.options.feeds]

    def location(self) -> str:
        return " ".join(str(url) for url in self.options.feeds)

    def scope(self) -> str:
        return f"{len(self.options.feeds)} news/RSS feed(s): " + self.location()

    def fetch(
        self, stream: str, state: StreamState, since: datetime, until: datetime
    ) -> Iterator[Page]:
        headers = {}
        if state.cursor.get("etag"):
            headers["If-None-Match"] = state.cursor["etag"]
        if state.cursor.get("last_modified"):
            headers["If-Modified-Since"] = state.cursor["last_modified"]
        response = self.http.get(stream, headers=headers, decode=parse_feed)
        if response.status == 304:
            yield Page([], StreamState(state.cursor, state.watermark), f"{stream} not modified")
            return
        feed = response.data
        base = self.base_record()
        lang = primary_language((feed.get("feed") or {}).get("language"))
        if lang:  # the feed's own language wins over the one the source declares
            base["lang"] = lang
        items = [
            entry_item(e, base, stream, full_text=self.options.full_text) for e in feed.entries
        ]
        times = [i.record.get("created_at") for i in items if i.record.get("created_at")]
        newest = max((datetime.fromisoformat(t) for t in times), default=None)
        watermark = max(filter(None, (newest, state.watermark)), default=None)
        cursor = {
            k: v
            for k, v in (
                ("etag", response.headers.get("etag")),
                ("last_modified", response.headers.get("last-modified")),
            )
            if v
        }
        yield Page(items, StreamState(cursor, watermark), stream)
