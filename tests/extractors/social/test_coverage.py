"""The source-coverage registry: declared scope from the config, delivered figures maintained by
the loader, exact under re-runs, edits and plain file imports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from extractors.social.file_import import import_file
from extractors.social.runner import Window, run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows
from tests.extractors.social.fakes import FakeMastodon, load, recorded_headers
from tests.extractors.social.wire_server import WireServer

JULY_17 = Window(datetime(2025, 7, 17, tzinfo=UTC), datetime(2025, 7, 18, tzinfo=UTC))
DAILY_FROM_POSTS = """
SELECT source, (created_at AT TIME ZONE 'UTC')::date, lang_hint, city_hint, count(*)::int
FROM raw.posts GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
DAILY = "SELECT source, day, lang, city, posts FROM raw.source_coverage_daily ORDER BY 1, 2, 3, 4"


def test_registry_declares_and_counts(
    wire: Path, warehouse_url: str, make_source, tmp_path: Path
) -> None:
    statuses = load(wire, "mastodon/get_timeline_public_default.json")
    fake = FakeMastodon(
        {"public": statuses},
        recorded_headers(wire, "mastodon/get_timeline_public_default.response_headers.json"),
    )
    with WireServer(fake) as server:
        fake.base = server.url
        source = make_source(
            id="m_berlin",
            kind="mastodon",
            languages=["de"],
            cities=["DE001C"],
            countries=["DE"],
            options={"instance": server.url, "timeline": "public"},
        )
        run_source(warehouse_url, source, pepper=TEST_PEPPER, window=JULY_17)
        statuses[0]["content"] = "<p>edited</p>"  # an edit: updated, not counted again
        run_source(warehouse_url, source, pepper=TEST_PEPPER, window=JULY_17)

    registry = rows(
        warehouse_url,
        "SELECT kind, platform, scope, location, languages, cities, countries, first_post_at, "
        "last_post_at, posts_total, last_run_status FROM raw.source_coverage",
    )
    created = sorted(datetime.fromisoformat(s["created_at"]) for s in statuses)
    assert registry == [
        (
            "mastodon",
            "mastodon",
            "Mastodon public timeline of " + server.url.removeprefix("http://"),
            server.url + "/api/v1/timelines/public",
            ["de"],
            ["DE001C"],
            ["DE"],
            created[0],
            created[-1],
            20,
            "succeeded",
        )
    ]
    daily = rows(warehouse_url, DAILY)
    assert daily == rows(warehouse_url, DAILY_FROM_POSTS)
    # The statuses' own languages win over the declared one; the declared city is every post's.
    assert {(d[2], d[3]) for d in daily} == {("en", "DE001C"), ("pt", "DE001C"), ("ja", "DE001C")}

    # A plain file import (sources named in the records) registers its sources on the fly.
    lines = [
        {
            "source": f"demo_{i % 2}",
            "platform": "reddit",
            "external_id": f"r{i}",
            "text": f"post {i}",
            "created_at": f"2026-08-0{1 + i % 3}T23:30:00-02:00",
            **({"city_code": "NL037C"} if i % 4 else {}),  # no city: counted under NULL
        }
        for i in range(9)
    ]
    path = tmp_path / "demo.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in lines), encoding="utf-8")
    import_file(warehouse_url, path, pepper=TEST_PEPPER)
    import_file(warehouse_url, path, pepper=TEST_PEPPER)
    assert rows(warehouse_url, DAILY) == rows(warehouse_url, DAILY_FROM_POSTS)
    demo = rows(
        warehouse_url,
        "SELECT source, platform, posts_total, kind FROM raw.source_coverage WHERE source LIKE 'demo%' ORDER BY 1",
    )
    assert demo == [("demo_0", "reddit", 5, None), ("demo_1", "reddit", 4, None)]
    # 23:30 at UTC-2 is the next UTC day.
    days = rows(
        warehouse_url,
        "SELECT DISTINCT day::text FROM raw.source_coverage_daily WHERE source LIKE 'demo%' ORDER BY 1",
    )
    assert days == [("2026-08-02",), ("2026-08-03",), ("2026-08-04",)]
