"""Ingest every recorded wire fixture through its connector and a local replay server; collect
the identities (handles, names, ids, e-mails) those fixtures contain, programmatically."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from extractors.social.config import Source
from extractors.social.runner import SourceReport, Window, run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.fakes import (
    FakeBluesky,
    FakeFeed,
    FakeMastodon,
    FakeReddit,
    flatten_comments,
    load,
    recorded_headers,
)
from tests.extractors.social.wire_server import WireServer

EVERYTHING = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)


def bluesky_posts(wire: Path) -> list[dict]:
    """Every post view in the Bluesky recordings: search results, posts, feed, thread."""
    posts = list(load(wire, "bluesky/app.bsky.feed.searchPosts.json")["posts"])
    posts += load(wire, "bluesky/app.bsky.feed.getPosts.json")["posts"]
    posts += [
        item["post"] for item in load(wire, "bluesky/app.bsky.feed.getAuthorFeed.json")["feed"]
    ]

    def thread(node: dict) -> Iterator[dict]:
        if isinstance(node.get("post"), dict):
            yield node["post"]
        for child in node.get("replies") or ():
            yield from thread(child)
        if isinstance(node.get("parent"), dict):
            yield from thread(node["parent"])

    posts += thread(load(wire, "bluesky/app.bsky.feed.getPostThread.json")["thread"])
    unique = {p["uri"]: p for p in posts}
    return list(unique.values())


def reddit_listings(wire: Path) -> dict[str, list[dict]]:
    comments = load(wire, "reddit/submission_with_comments_2025-06.json")
    return {
        "r/popular/new": load(wire, "reddit/r_popular_hot_2026-04.json")["data"]["children"],
        "r/popular/comments": [],
        "r/all/search": load(wire, "reddit/r_all_search_2016-07.json")["data"]["children"],
        "r/Lil_SpazJoekp/new": comments[0]["data"]["children"],
        "r/Lil_SpazJoekp/comments": flatten_comments(comments[1]),
    }


@dataclass
class Replay:
    reports: list[SourceReport]
    servers: dict[str, WireServer]


def ingest_all_fixtures(
    wire: Path, url: str, make_source: Callable[..., Source], env: Any
) -> Replay:
    """Every recorded response of every platform, landed through the connectors."""
    env.setenv("TEST_REDDIT_ID", "cid")
    env.setenv("TEST_REDDIT_SECRET", "csecret")
    mastodon = FakeMastodon(
        {
            "tag/rstats": load(wire, "mastodon/get_timeline_hashtag_default.json"),
            "tag/single": [load(wire, "mastodon/get_status_default.json")],
            "public": load(wire, "mastodon/get_timeline_public_default.json"),
            "local": load(wire, "mastodon/get_timeline_public_instance_local.json"),
        },
        recorded_headers(wire, "mastodon/get_timeline_hashtag_default.response_headers.json"),
    )
    reddit = FakeReddit(
        reddit_listings(wire),
        recorded_headers(wire, "reddit/r_popular_hot_2026-04.response_headers.json"),
    )
    feed = FakeFeed((wire / "rss/bbc_news_world_2017-01-20_3items.xml").read_bytes())
    reports = []
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(WireServer(handler))
            for name, handler in {
                "mastodon": mastodon,
                "bluesky": FakeBluesky(bluesky_posts(wire)),
                "reddit": reddit,
                "rss": feed,
            }.items()
        }
        mastodon.base = servers["mastodon"].url
        sources = [
            dict(
                id="all_mastodon_tags",
                kind="mastodon",
                options={"instance": servers["mastodon"].url, "hashtags": ["rstats", "single"]},
            ),
            dict(
                id="all_mastodon_public",
                kind="mastodon",
                options={"instance": servers["mastodon"].url, "timeline": "public"},
            ),
            dict(
                id="all_mastodon_local",
                kind="mastodon",
                options={"instance": servers["mastodon"].url, "timeline": "local"},
            ),
            dict(
                id="all_bluesky",
                kind="bluesky",
                options={
                    "service": servers["bluesky"].url,
                    "queries": ["redistricting"],
                    "page_size": 10,
                },
            ),
            dict(
                id="all_reddit",
                kind="reddit",
                options={
                    "api_base": servers["reddit"].url,
                    "token_url": servers["reddit"].url + "/api/v1/access_token",
                    "subreddits": ["popular", "Lil_SpazJoekp"],
                    "comments": True,
                    "searches": ["praw oauth search"],
                    "client_id_env": "TEST_REDDIT_ID",
                    "client_secret_env": "TEST_REDDIT_SECRET",
                },
            ),
            dict(
                id="all_rss",
                kind="rss",
                options={"feeds": [servers["rss"].url + "/news/world/rss.xml"]},
            ),
        ]
        for spec in sources:
            report = run_source(url, make_source(**spec), pepper=TEST_PEPPER, window=EVERYTHING)
            reports.append(report)
    return Replay(reports, servers)


# -- identities in the fixtures -------------------------------------------------------------

_PERSON_KEYS = {
    # Mastodon accounts and mentions (dicts that have an "acct")
    "acct": ("username", "acct", "display_name", "url", "uri"),
    # Bluesky profiles (dicts that have a "handle")
    "handle": ("handle", "displayName", "did"),
    # Reddit things (dicts that have an "author")
    "author": ("author", "author_fullname"),
}
_CUSTOM_EMOJI = re.compile(r":[\w+-]+:")


def _walk(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def fixture_identities(wire: Path) -> set[str]:
    """Handles, display names, account ids and URLs, and e-mails of every fixture file."""
    found: set[str] = set()
    for path in sorted(wire.rglob("*.json")):
        if path.name.endswith(".response_headers.json"):
            continue
        text = path.read_text(encoding="utf-8")
        found.update(EMAIL.findall(text))
        for obj in _walk(load(wire, str(path.relative_to(wire)))):
            for marker, keys in _PERSON_KEYS.items():
                if marker in obj:
                    found.update(v for k in keys if isinstance(v := obj.get(k), str))
    for path in wire.rglob("*.xml"):
        feed = feedparser.parse(path.read_bytes())
        for entry in feed.entries:
            detail = entry.get("author_detail") or {}
            found.update(
                v for v in (entry.get("author"), detail.get("name"), detail.get("email")) if v
            )
        found.update(EMAIL.findall(path.read_text(encoding="utf-8")))
    cleaned = set()
    for value in found:
        cleaned.add(value.strip())
        cleaned.add(" ".join(_CUSTOM_EMOJI.sub(" ", value).split()))  # names without :emoji:
    return {v for v in cleaned if v and v not in ("[deleted]", "[removed]")}
