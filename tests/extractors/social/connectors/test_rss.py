"""RSS and Atom: contract on the recorded BBC feed, conditional GET against a local server, an
Atom feed with full text, entities, right-to-left text and an author (written here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.http import MalformedBody
from extractors.social.connectors.rss import entry_item, parse_feed
from extractors.social.ingest import normalise_items
from extractors.social.landing import ImportStats
from extractors.social.runner import Window, run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar
from tests.extractors.social.fakes import FakeFeed
from tests.extractors.social.wire_server import WireServer

BBC = "rss/bbc_news_world_2017-01-20_3items.xml"
BASE = {"source": "f", "platform": "rss", "lang": None, "city_code": None, "country_code": None}
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="sv">
  <title>Malmö stad – pressmeddelanden</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-03-02T10:00:00Z</updated>
  <entry>
    <title>Nya SFI-kurser &amp; språkcaféer i Rosengård</title>
    <id>urn:malmo:press:2026-001</id>
    <updated>2026-03-02T09:30:00+01:00</updated>
    <author><name>Karin Lindqvist</name><email>karin.lindqvist@malmo.example</email></author>
    <summary>Kort sammanfattning.</summary>
    <content type="html">&lt;p&gt;Staden öppnar nya kurser i svenska för invandrare (SFI). Frågor till
      Karin Lindqvist, karin.lindqvist@malmo.example eller 040-34 10 00.&lt;/p&gt;
      &lt;p&gt;مرحبا بكم في مالمو — välkomna!&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Undated note</title>
    <id>urn:malmo:press:undated</id>
    <summary>No date at all.</summary>
  </entry>
</feed>
"""


def test_contract_recorded_bbc_feed(wire: Path) -> None:
    feed = parse_feed((wire / BBC).read_bytes())
    assert feed.feed.language == "en-gb" and len(feed.entries) == 3
    items = [entry_item(e, {**BASE, "lang": "en"}, "bbc", full_text=True) for e in feed.entries]
    posts, rejected = normalise_items(items, ImportStats("r"), pepper=TEST_PEPPER)
    assert (len(posts), len(rejected)) == (3, 0)
    first = posts[0]
    assert first.external_id == "http://www.bbc.co.uk/news/world-europe-38691103"
    assert first.created_at == datetime(2017, 1, 20, 12, 55, 28, tzinfo=UTC)
    assert first.text == (
        "Rigopiano avalanche: Eight found alive in Italy hotel after two days\n\n"
        "Two children are among the eight who have spent at least 40 hours buried in snow and "
        "rubble."
    )
    assert first.author_pseudonym is None  # the feed names no author


def test_truncated_feed_is_malformed(wire: Path) -> None:
    body = (wire / BBC).read_bytes()
    with pytest.raises(MalformedBody):
        parse_feed(body[:300])


@pytest.mark.timeout(60)
def test_conditional_get_and_atom_full_text(wire: Path, warehouse_url: str, make_source) -> None:
    bbc = FakeFeed((wire / BBC).read_bytes())
    atom = FakeFeed(ATOM.encode(), "application/atom+xml")
    with WireServer(bbc) as bbc_server, WireServer(atom) as atom_server:
        source = make_source(
            id="news",
            kind="rss",
            cities=["SE003C"],
            options={"feeds": [bbc_server.url + "/rss.xml", atom_server.url + "/press.atom"]},
        )
        window = Window(None, datetime(2026, 6, 1, tzinfo=UTC))
        first = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=window)
        assert first.status == "succeeded", first.error
        assert (first.stats["inserted"], first.stats["rejected"]) == (4, 1)
        second = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=window)
        assert second.stats["records_read"] == 0  # both feeds answered 304 Not Modified
        assert bbc_server.requests[-1].headers["if-none-match"] == '"v1"'
        assert "if-modified-since" in bbc_server.requests[-1].headers
    malmo = scalar(
        warehouse_url, "SELECT text FROM raw.posts WHERE external_id = 'urn:malmo:press:2026-001'"
    )
    assert malmo.startswith("Nya SFI-kurser & språkcaféer i Rosengård\n\nStaden öppnar")
    assert "مرحبا بكم في مالمو" in malmo  # right-to-left text, as written
    assert "Karin" not in malmo and "karin.lindqvist" not in malmo and "[phone]" in malmo
    assert rows(
        warehouse_url, "SELECT DISTINCT lang_hint, city_hint FROM raw.posts ORDER BY 1"
    ) == [
        ("en", "SE003C"),
        ("sv", "SE003C"),
    ]
    assert rows(warehouse_url, "SELECT position, reason FROM raw.rejected_records") == [
        (
            atom_server.url + "/press.atom urn:malmo:press:undated",
            "missing or non-string field 'created_at'",
        )
    ]


@pytest.mark.timeout(60)
def test_backfill_windows_skip_feeds(wire: Path, warehouse_url: str, make_source) -> None:
    with WireServer(FakeFeed((wire / BBC).read_bytes())) as server:
        source = make_source(id="bbc", kind="rss", options={"feeds": [server.url + "/rss.xml"]})
        run_source(warehouse_url, source, pepper=TEST_PEPPER)
        past = Window(datetime(2016, 1, 1, tzinfo=UTC), datetime(2016, 1, 2, tzinfo=UTC))
        report = run_source(warehouse_url, source, pepper=TEST_PEPPER, window=past)
        assert report.streams == {server.url + "/rss.xml": "skipped"}
        assert len(server.requests) == 1
