"""Bluesky: contract on the recorded searchPosts response, then the connector against a local
server replaying it with cursor paging, the language filter and sessions."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.social.connectors.bluesky import post_item, post_key
from extractors.social.ingest import normalise_items
from extractors.social.landing import ImportStats
from extractors.social.runner import Window, run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar
from tests.extractors.social.fakes import FakeBluesky, load
from tests.extractors.social.wire_server import WireServer

SEARCH = "bluesky/app.bsky.feed.searchPosts.json"
DEC_2023 = Window(datetime(2023, 12, 13, tzinfo=UTC), datetime(2023, 12, 15, tzinfo=UTC))
BASE = {"source": "b", "platform": "bluesky", "lang": None, "city_code": None, "country_code": None}


def test_contract_recorded_search_results(wire: Path) -> None:
    response = load(wire, SEARCH)
    assert set(response) == {"posts", "cursor", "hitsTotal"} and response["cursor"] == "25"
    items = [post_item(p, BASE, "q", TEST_PEPPER) for p in response["posts"]]
    posts, rejected = normalise_items(items, ImportStats("r"), pepper=TEST_PEPPER)
    assert (len(posts), len(rejected)) == (23, 0)
    # The natural key is a keyed hash of the AT URI: no DID (which resolves to the account).
    assert all("did:" not in p.external_id and len(p.external_id) == 32 for p in posts)
    assert posts[0].external_id == post_key(response["posts"][0]["uri"], TEST_PEPPER)
    # Declared languages: all English but one post without `langs` (no hint, not a guess).
    assert {p.lang_hint for p in posts} == {"en", None}
    mention = next(p for p in posts if "Kagro in the Morning" in p.text)
    assert "@user" in mention.text and "demfromct" not in mention.text
    assert mention.payload["hashtags"] == ["KITM"]
    emoji = next(p for p in posts if "rethug" in p.text)
    assert "😁🇺🇸" in emoji.text  # emoji and flags survive as they are


def test_schema_drift_unknown_and_missing_fields(wire: Path) -> None:
    posts = copy.deepcopy(load(wire, SEARCH)["posts"][:4])
    posts[0]["record"]["newLexiconField"] = {"$type": "app.bsky.future#thing"}
    del posts[1]["record"]["createdAt"]
    posts[2]["record"] = "not an object"
    del posts[3]["uri"]
    items = [post_item(p, BASE, "q", TEST_PEPPER) for p in posts]
    landed, rejected = normalise_items(items, ImportStats("r"), pepper=TEST_PEPPER)
    assert len(landed) == 1
    assert sorted(r.reason for r in rejected) == [
        "field 'record' must be an object",
        "missing or invalid field 'uri'",
        "missing or non-string field 'created_at'",
    ]


@pytest.mark.timeout(60)
def test_search_pages_with_cursor_and_resumes_from_watermark(
    wire: Path, warehouse_url: str, make_source
) -> None:
    fake = FakeBluesky(load(wire, SEARCH)["posts"])
    with WireServer(fake) as server:
        source = make_source(
            id="bsky_en",
            kind="bluesky",
            languages=["en"],
            options={"service": server.url, "queries": ["redistricting"], "page_size": 5},
        )
        report = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=DEC_2023)
        assert report.status == "succeeded", report.error
        # 22 posts declare English; the one without `langs` is filtered out by the service.
        assert report.stats["inserted"] == 22
        search = server.paths("/xrpc/app.bsky.feed.searchPosts")
        assert [r.query.get("cursor") for r in search] == [None, "5", "10", "15", "20"]
        assert {(r.query["q"], r.query["lang"], r.query["sort"]) for r in search} == {
            ("redistricting", "en", "latest")
        }
        watermark = "SELECT watermark FROM raw.source_cursors WHERE source = 'bsky_en'"
        assert scalar(warehouse_url, watermark) == DEC_2023.end

        # The next window starts at the watermark: only what is new is asked for.
        later = Window(DEC_2023.end, datetime(2023, 12, 16, tzinfo=UTC))
        again = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=later)
        assert again.stats["records_read"] == 0
        assert server.paths("/xrpc")[-1].query["since"].startswith("2023-12-15T00:00:00")


@pytest.mark.timeout(60)
def test_page_budget_stops_mid_pass_and_next_run_resumes_it(
    wire: Path, warehouse_url: str, make_source
) -> None:
    fake = FakeBluesky(load(wire, SEARCH)["posts"])
    with WireServer(fake) as server:
        source = make_source(
            id="bsky_budget",
            kind="bluesky",
            max_pages=2,
            options={"service": server.url, "queries": ["redistricting"], "page_size": 5},
        )
        first = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=DEC_2023)
        assert first.stats["inserted"] == 10 and first.streams["q/redistricting"].startswith(
            "partial"
        )
        cursor = rows(warehouse_url, "SELECT cursor, watermark FROM raw.source_cursors")
        assert cursor[0][0]["pass"]["cursor"] == "10" and cursor[0][1] is None
        second = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=DEC_2023)
        third = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=DEC_2023)
        assert (second.stats["inserted"], third.stats["inserted"]) == (10, 3)
        assert third.streams["q/redistricting"] == "complete"
        assert [r.query.get("cursor") for r in server.paths("/xrpc")] == [
            None,
            "5",
            "10",
            "15",
            "20",
        ]
    assert scalar(warehouse_url, "SELECT count(*) FROM raw.posts") == 23


@pytest.mark.timeout(60)
def test_session_is_created_and_refreshed_when_the_token_expires(
    wire: Path, warehouse_url: str, make_source, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_BSKY_ID", "monitor.example")
    monkeypatch.setenv("TEST_BSKY_PASSWORD", "app-password-123")
    fake = FakeBluesky(load(wire, SEARCH)["posts"], require_auth=True, token_uses=2)
    with WireServer(fake) as server:
        options = {"service": server.url, "queries": ["redistricting"], "page_size": 5}
        anonymous = make_source(id="bsky_anon", kind="bluesky", options=options)
        refused = run_source(warehouse_url, anonymous, pepper=TEST_PEPPER, window=DEC_2023)
        assert refused.status == "failed" and "requires a session" in refused.error
        source = make_source(
            id="bsky_auth",
            kind="bluesky",
            options={
                **options,
                "identifier_env": "TEST_BSKY_ID",
                "app_password_env": "TEST_BSKY_PASSWORD",
            },
        )
        report = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=DEC_2023)
    assert report.status == "succeeded", report.error
    assert report.stats["inserted"] == 23
    assert (fake.sessions, fake.refreshes) == (1, 2)  # 5 pages, tokens good for 2 requests


def test_missing_credentials_name_the_variable(warehouse_url: str, make_source) -> None:
    source = make_source(
        id="bsky_nocreds",
        kind="bluesky",
        options={
            "service": "http://127.0.0.1:9",
            "queries": ["x"],
            "identifier_env": "UNSET_BSKY_ID_XYZ",
            "app_password_env": "UNSET_BSKY_PW_XYZ",
        },
    )
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=DEC_2023)
    assert report.status == "failed"
    assert "UNSET_BSKY_ID_XYZ" in report.error and "identifier_env" in report.error
