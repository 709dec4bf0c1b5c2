"""Reddit: contract on the recorded listings (2026, and a 2016 one without today's fields), then
the connector against a local server with OAuth2, `after` paging and `x-ratelimit-*`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.http import HttpClient
from extractors.social.connectors.reddit import thing_item
from extractors.social.ingest import normalise_items
from extractors.social.landing import ImportStats
from extractors.social.runner import Window, run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar
from tests.extractors.social.fakes import FakeReddit, flatten_comments, load, recorded_headers
from tests.extractors.social.wire_server import WireServer

HOT = "reddit/r_popular_hot_2026-04.json"
BASE = {
    "source": "r",
    "platform": "reddit",
    "lang": None,
    "city_code": "DE001C",
    "country_code": "DE",
}
APRIL_13 = Window(datetime(2026, 4, 12, tzinfo=UTC), datetime(2026, 4, 14, tzinfo=UTC))


def _normalise(things: list) -> tuple[list, list]:
    items = [i for i in (thing_item(t, BASE, "r/x/new") for t in things) if i is not None]
    return normalise_items(items, ImportStats("r"), pepper=TEST_PEPPER)


def test_contract_listing_search_and_comments(wire: Path) -> None:
    hot = load(wire, HOT)
    assert hot["kind"] == "Listing" and hot["data"]["after"]
    posts, rejected = _normalise(hot["data"]["children"])
    assert (len(posts), len(rejected)) == (100, 0)
    first = hot["data"]["children"][0]["data"]
    assert posts[0].external_id == first["name"] and posts[0].text.startswith(first["title"])
    assert posts[0].created_at.timestamp() == first["created_utc"]
    assert posts[0].city_hint == "DE001C"  # the source's declared city
    assert posts[0].payload["like_count"] == first["ups"]

    # 2016: no author_fullname, other fields; still maps (the author handle is the key).
    old, old_rejected = _normalise(
        load(wire, "reddit/r_all_search_2016-07.json")["data"]["children"]
    )
    assert (len(old), len(old_rejected)) == (6, 0)
    assert all(p.author_pseudonym for p in old)

    thread = load(wire, "reddit/submission_with_comments_2025-06.json")
    tree = flatten_comments(thread[1])
    comments, _ = _normalise(tree)
    assert len(comments) == len(tree) == 67
    assert all(c.external_id.startswith("t1_") for c in comments)
    mention = next(c for c in comments if "mention" in c.text)
    assert mention.text == "Test @user mention"  # u/Lil_SpazTest


def test_placeholders_and_unknown_kinds() -> None:
    assert thing_item({"kind": "more", "data": {"children": ["abc"]}}, BASE, "w") is None
    item = thing_item({"kind": "t5", "data": {"name": "t5_x"}}, BASE, "w")
    assert item is not None and item.error == "unsupported kind 't5'"
    deleted = thing_item(
        {
            "kind": "t1",
            "data": {"name": "t1_d", "author": "[deleted]", "body": "gone", "created_utc": 1.0},
        },
        BASE,
        "w",
    )
    assert deleted is not None and deleted.record["author_id"] is None


@pytest.mark.timeout(60)
def test_new_posts_and_comments_with_oauth_paging_and_rate_limits(
    wire: Path, warehouse_url: str, make_source, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_REDDIT_ID", "cid")
    monkeypatch.setenv("TEST_REDDIT_SECRET", "csecret")
    headers = recorded_headers(wire, "reddit/r_popular_hot_2026-04.response_headers.json")
    assert headers["x-ratelimit-remaining"] == "997.0" and headers["x-ratelimit-reset"] == "15"
    fake = FakeReddit({"r/popular/new": load(wire, HOT)["data"]["children"]}, headers)
    with WireServer(fake) as server:
        source = make_source(
            id="reddit_popular",
            kind="reddit",
            options={
                "api_base": server.url,
                "token_url": server.url + "/api/v1/access_token",
                "subreddits": ["popular"],
                "page_size": 30,
                "client_id_env": "TEST_REDDIT_ID",
                "client_secret_env": "TEST_REDDIT_SECRET",
            },
        )
        report = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=APRIL_13)
        assert report.status == "succeeded", report.error
        assert report.stats["inserted"] == 100
        listing = server.paths("/r/popular/new")
        assert [r.query.get("after") is None for r in listing] == [True, False, False, False]
        assert all(r.query["raw_json"] == "1" for r in listing)
        assert all(r.headers["user-agent"].startswith("european-monitor") for r in listing)
        assert fake.tokens_issued == 1

        # The token was revoked meanwhile: one new token, transparently.
        fake.valid_tokens.clear()
        later = Window(APRIL_13.end, datetime(2026, 4, 15, tzinfo=UTC))
        again = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=later)
        assert again.status == "succeeded", again.error
        assert again.stats["records_read"] == 0  # nothing newer than the watermark
        assert fake.tokens_issued == 2
    assert scalar(warehouse_url, "SELECT count(*) FROM raw.posts") == 100
    # posts per day: what the listing holds, by UTC day of creation
    by_day = dict(rows(warehouse_url, "SELECT day::text, posts FROM raw.source_coverage_daily"))
    assert sum(by_day.values()) == 100 and set(by_day) <= {"2026-04-12", "2026-04-13"}


@pytest.mark.timeout(60)
def test_rate_limit_wait_is_honoured_between_requests(
    wire: Path, warehouse_url: str, make_source, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_REDDIT_ID", "cid")
    monkeypatch.setenv("TEST_REDDIT_SECRET", "csecret")
    headers = recorded_headers(wire, "reddit/r_popular_hot_2026-04.response_headers.json")
    exhausted = {**headers, "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "2"}
    fake = FakeReddit({"r/popular/new": load(wire, HOT)["data"]["children"]}, exhausted)
    slept: list[float] = []
    with WireServer(fake) as server:
        source = make_source(
            id="reddit_limited",
            kind="reddit",
            options={
                "api_base": server.url,
                "token_url": server.url + "/api/v1/access_token",
                "subreddits": ["popular"],
                "page_size": 50,
                "client_id_env": "TEST_REDDIT_ID",
                "client_secret_env": "TEST_REDDIT_SECRET",
            },
        )
        client = HttpClient(source.http.policy(), user_agent="t", sleep=slept.append)
        report = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=APRIL_13, http=client)
    assert report.stats["inserted"] == 100
    # Two listing pages: before the second one, the client waited for the announced reset.
    assert len(slept) == 1 and 1.5 < slept[0] <= 2.0
