"""Mastodon: contract on the recorded responses, then the connector against a local server that
replays them with Mastodon's paging (min_id / max_id, Link headers) and rate-limit headers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.social.connectors.mastodon import (
    parse_links,
    snowflake,
    snowflake_time,
    status_item,
)
from extractors.social.ingest import normalise_items
from extractors.social.landing import ImportStats
from extractors.social.runner import Window, run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar
from tests.extractors.social.fakes import FakeMastodon, load, recorded_headers
from tests.extractors.social.wire_server import WireServer

TIMELINES = {
    "tag/rstats": "mastodon/get_timeline_hashtag_default.json",
    "public": "mastodon/get_timeline_public_default.json",
    "local": "mastodon/get_timeline_public_instance_local.json",
}
JULY_17 = Window(datetime(2025, 7, 17, tzinfo=UTC), datetime(2025, 7, 18, tzinfo=UTC))
BASE = {
    "source": "m",
    "platform": "mastodon",
    "lang": None,
    "city_code": None,
    "country_code": None,
}


def _posts(wire: Path, name: str):
    statuses = load(wire, name)
    items = [
        status_item(s, BASE, "t") for s in (statuses if isinstance(statuses, list) else [statuses])
    ]
    return normalise_items(items, ImportStats("r"), pepper=TEST_PEPPER)


def test_contract_recorded_statuses_become_clean_posts(wire: Path) -> None:
    posts, rejected = _posts(wire, "mastodon/get_timeline_public_default.json")
    assert (len(posts), len(rejected)) == (20, 0)
    assert {p.lang_hint for p in posts} == {"en", "pt", "ja"}
    assert all("<" not in p.text and "&amp;" not in p.text for p in posts)
    assert all(p.created_at.date().isoformat() == "2025-07-17" for p in posts)
    # Ids are snowflakes of the arrival time at the instance, never before creation (remote
    # statuses arrive late): the connector's windows rely on it.
    for status in load(wire, "mastodon/get_timeline_public_default.json"):
        created = datetime.fromisoformat(status["created_at"])
        assert (snowflake_time(int(status["id"])) - created).total_seconds() > -0.001

    tagged, _ = _posts(wire, "mastodon/get_timeline_hashtag_default.json")
    first = tagged[0]
    assert first.external_id == "114870142263126875"
    assert first.payload == {
        "like_count": 1,
        "reply_count": 0,
        "repost_count": 0,
        "hashtags": ["rstats"],
    }
    # Hidden link parts are kept (links come out whole); a link naming the author is removed.
    assert "#rstats" in first.text and "simonpcouch" not in first.text.lower()
    assert "[link]" in first.text

    single, _ = _posts(wire, "mastodon/get_status_default.json")
    assert "@user" in single[0].text and "maelle" not in single[0].text


def test_contract_link_header_and_edits(wire: Path) -> None:
    headers = load(wire, "mastodon/get_timeline_hashtag_default.response_headers.json")["headers"]
    links = parse_links(headers["link"])
    assert "max_id=114869144097749491" in links["next"]
    assert "min_id=114870142263126875" in links["prev"]
    local = load(wire, "mastodon/get_timeline_public_instance_local.json")
    assert any(s["edited_at"] for s in local)  # an edited status exists: edits are real


def test_private_and_broken_statuses_are_rejected_with_reason(wire: Path) -> None:
    statuses = copy.deepcopy(load(wire, "mastodon/get_timeline_hashtag_default.json"))
    statuses[0]["visibility"] = "direct"
    statuses[1]["content"] = {"unexpected": "object"}
    del statuses[2]["created_at"]
    statuses[3]["brand_new_field"] = {"nested": [1, 2]}  # unknown fields are fine
    posts, rejected = normalise_items(
        [status_item(s, BASE, "tag/rstats") for s in statuses], ImportStats("r"), pepper=TEST_PEPPER
    )
    assert len(posts) == 2
    reasons = sorted(r.reason for r in rejected)
    assert reasons == [
        "field 'content' must be a string",
        "missing or non-string field 'created_at'",
        "not public (visibility 'direct')",
    ]
    direct = next(r for r in rejected if "direct" in r.reason)
    assert "Claude" not in str(direct.record)  # a non-public status keeps no content at all


def _server(wire: Path) -> tuple[WireServer, FakeMastodon]:
    fake = FakeMastodon(
        {k: load(wire, v) for k, v in TIMELINES.items()},
        recorded_headers(wire, "mastodon/get_timeline_hashtag_default.response_headers.json"),
    )
    return WireServer(fake), fake


@pytest.mark.timeout(60)
def test_hashtag_public_and_local_timelines_land_incrementally(
    wire: Path, warehouse_url: str, make_source
) -> None:
    server, fake = _server(wire)
    with server:
        fake.base = server.url
        tags = make_source(
            id="m_tags",
            kind="mastodon",
            languages=["en"],
            options={"instance": server.url, "hashtags": ["rstats"], "page_size": 2},
        )
        report = run_source(warehouse_url, tags, pepper=TEST_PEPPER, window=JULY_17)
        assert report.status == "succeeded", report.error
        assert report.stats["inserted"] == 5 and report.streams == {"tag/rstats": "complete"}
        # Paged forward 2 at a time from the window start, following the server's Link URLs.
        requests = server.paths("/api/v1/timelines/tag/rstats")
        assert requests[0].query["min_id"] == str(snowflake(JULY_17.start))
        assert [r.query["min_id"] for r in requests[1:]] == [
            "114869166204750572",
            "114869631729644574",
            "114870142263126875",  # an empty page: caught up
        ]

        # The next hour's run starts from the cursor, finds nothing new, adds nothing.
        later = Window(JULY_17.end, datetime(2025, 7, 18, 1, tzinfo=UTC))
        again = run_source(warehouse_url, tags, pepper=TEST_PEPPER, window=later)
        assert (again.stats["inserted"], again.pages) == (0, 1)
        assert (
            server.paths("/api/v1/timelines/tag/rstats")[-1].query["min_id"] == "114870142263126875"
        )
        cursor = "SELECT stream, cursor FROM raw.source_cursors WHERE source = 'm_tags'"
        assert rows(warehouse_url, cursor) == [
            ("live/tag/rstats", {"min_id": "114870142263126875"})
        ]

        # A status edited after it landed; re-running its (past) window is a backfill: it
        # re-reads the window, updates the edit in place, adds nothing, leaves the cursor alone.
        newest = fake.timelines["tag/rstats"][0]
        newest["content"] = "<p>Edited: #rstats &amp; more</p>"
        newest["edited_at"] = "2025-07-17T21:00:00.000Z"
        backfill = run_source(warehouse_url, tags, pepper=TEST_PEPPER, window=JULY_17)
        assert (
            backfill.stats["inserted"],
            backfill.stats["updated"],
            backfill.stats["unchanged"],
        ) == (0, 1, 4)
        assert rows(warehouse_url, cursor) == [
            ("live/tag/rstats", {"min_id": "114870142263126875"})
        ]
        assert (
            scalar(
                warehouse_url, "SELECT text FROM raw.posts WHERE external_id = %s", (newest["id"],)
            )
            == "Edited: #rstats & more"
        )

        for timeline, expected in (("public", 20), ("local", 10)):
            source = make_source(
                id=f"m_{timeline}",
                kind="mastodon",
                options={"instance": server.url, "timeline": timeline},
            )
            result = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=JULY_17)
            assert result.stats["inserted"] == expected, result
    counts = dict(rows(warehouse_url, "SELECT source, count(*) FROM raw.posts GROUP BY source"))
    assert counts == {"m_tags": 5, "m_public": 20, "m_local": 10}
    # Language hints: the status's own language wins over the declared one.
    assert scalar(warehouse_url, "SELECT count(*) FROM raw.posts WHERE lang_hint = 'pt'") == 1
    authors = {s["account"]["uri"] for s in load(wire, TIMELINES["local"])}
    assert len(authors) == 9  # one author posted twice: one pseudonym
    distinct = "SELECT count(DISTINCT author_pseudonym) FROM raw.posts WHERE source = 'm_local'"
    assert scalar(warehouse_url, distinct) == len(authors)


def test_window_end_bounds_the_walk(wire: Path, warehouse_url: str, make_source) -> None:
    server, fake = _server(wire)
    with server:
        fake.base = server.url
        source = make_source(
            id="m_bounded", kind="mastodon", options={"instance": server.url, "timeline": "public"}
        )
        # Only the statuses that reached the instance before the middle one did.
        ids = sorted(int(s["id"]) for s in load(wire, "mastodon/get_timeline_public_default.json"))
        cut = snowflake_time(ids[10])
        report = run_source(
            warehouse_url, source, pepper=TEST_PEPPER, window=Window(JULY_17.start, cut)
        )
    statuses = load(wire, "mastodon/get_timeline_public_default.json")
    expected = sum(int(s["id"]) < snowflake(cut) for s in statuses)
    assert 0 < expected < 20
    assert report.stats["inserted"] == expected
    watermark = scalar(
        warehouse_url, "SELECT watermark FROM raw.source_cursors WHERE source = 'm_bounded'"
    )
    assert watermark == cut
