"""City attribution end to end: posts land, the real language and cities classifiers run
(rules only, no encoder), dbt builds, and a post counts for every city it names - a national
source's post naming Malmö reaches Malmö's mart row, one naming "Wenen" (Vienna in Dutch, an
other_names entry) Vienna's, a post naming two cities counts once for each, and a country
counts its distinct posts."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg2
import pytest

from classifiers.warehouse import classify_warehouse
from monitor import pipeline
from tests.conftest import TEST_PEPPER

pytestmark = pytest.mark.slow

POSTS = [
    # (external id, source, city hint, country hint, language, day, text)
    ("se-1", "national_news_se", None, "SE", "sv", "2026-06-25",
     "Nya språkkurser för nyanlända i Malmö från och med hösten."),
    ("nl-1", "national_news_nl", None, "NL", "nl", "2026-06-25",
     "De gemeente Wenen opent een nieuw taalcentrum voor nieuwkomers."),
    ("de-1", "local_feed_berlin", "DE001C", "DE", "de", "2026-06-25",
     "Wie in Hamburg: auch hier fehlen Sozialwohnungen für Geflüchtete."),
    ("de-2", "local_feed_berlin", "DE001C", "DE", "de", "2026-06-25",
     "Die Mieten steigen weiter, Sprachkurse sind ausgebucht."),
    ("el-1", "national_news_el", None, "EL", "en", "2026-07-10",
     "Reception centres in Athens and Thessaloniki are over capacity again."),
    ("el-2", "national_news_el", None, "EL", "en", "2026-07-10",
     "New asylum rules: volunteers in Athens report long queues."),
]  # fmt: skip


def _query(url: str, q: str, args=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall()


@pytest.fixture
def built(warehouse_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "imports" / "posts"
    folder.mkdir(parents=True)
    with (folder / "posts.ndjson").open("w", encoding="utf-8") as f:
        for ext, source, city, country, lang, day, text in POSTS:
            record = {
                "source": source, "platform": "news", "external_id": ext,
                "created_at": f"{day}T10:00:00Z", "author_handle": f"@{ext}", "text": text,
                "lang": lang, "city_code": city, "country_code": country,
                "url": f"https://example.org/{ext}",
            }  # fmt: skip
            f.write(json.dumps(record) + "\n")
    pipeline.prepare(warehouse_url)
    pipeline.ingest(warehouse_url, tmp_path / "imports", pepper=TEST_PEPPER)
    classify_warehouse(warehouse_url, tasks=["language", "cities"])
    pipeline.build(warehouse_url)
    return warehouse_url


def _city_posts(url: str, city: str, day: str) -> int | None:
    """All posts of the city that day (area '*': the city-area marts' `city_posts`; these posts
    have no areas, which need the encoder)."""
    rows = _query(
        url,
        "SELECT posts FROM intermediate.int_city_area_days__summed WHERE city_code = %s "
        "AND day = %s AND area_id = '*'",
        (city, day),
    )
    return rows[0][0] if rows else None


def test_posts_reach_the_marts_of_every_city_they_name(built: str) -> None:
    url = built
    attributed = {
        (ext, city): evidence
        for ext, city, evidence in _query(
            url,
            "SELECT k.external_id, a.city_code, a.evidence "
            "FROM intermediate.int_post_cities__attributed AS a "
            "JOIN raw.post_keys AS k ON k.post_id = a.post_id",
        )
    }
    # national sources without a city hint: the city comes from the text alone
    assert attributed[("se-1", "SE003C")] == "text"
    assert attributed[("nl-1", "AT001C")] == "text"  # "Wenen", via other_names
    # a Berlin feed's post naming Hamburg counts for both, the hint being evidence too
    assert attributed[("de-1", "DE001C")] == "source"
    assert attributed[("de-1", "DE002C")] == "text"
    assert attributed[("de-2", "DE001C")] == "source"
    assert attributed[("el-1", "EL001C")] == attributed[("el-1", "EL002C")] == "text"
    assert len(attributed) == 8

    # ... into the cities' mart rows (before this rule they had no city and no row)
    assert _city_posts(url, "SE003C", "2026-06-25") == 1
    assert _city_posts(url, "AT001C", "2026-06-25") == 1
    assert _city_posts(url, "DE001C", "2026-06-25") == 2
    assert _city_posts(url, "DE002C", "2026-06-25") == 1
    assert _city_posts(url, "EL001C", "2026-07-10") == 2
    assert _city_posts(url, "EL002C", "2026-07-10") == 1
    monthly = dict(
        _query(
            url,
            "SELECT city_code, posts FROM marts.mart_city_comparison "
            "WHERE period_type = 'month' AND city_code IN ('SE003C', 'AT001C', 'EL002C')",
        )
    )
    assert monthly == {"SE003C": 1, "AT001C": 1, "EL002C": 1}
    codes = dict(
        _query(
            url,
            "SELECT k.external_id, f.city_codes FROM marts.fct_posts AS f "
            "JOIN raw.post_keys AS k ON k.post_id = f.post_id",
        )
    )
    assert codes["de-1"] == ["DE001C", "DE002C"] and codes["se-1"] == ["SE003C"]

    # a country counts its distinct posts: el-1 names two Greek cities, counted once (the
    # cities' rows add up to 3)
    after = _query(
        url,
        "SELECT posts FROM intermediate.int_event_windows__summed "
        "WHERE event_id = 'el_asylum_reception_rules' AND event_window = 'after'",
    )
    assert after == [(2,)]
