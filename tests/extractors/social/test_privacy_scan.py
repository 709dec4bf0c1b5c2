"""Privacy at ingestion: after landing every recorded wire fixture, no table of the warehouse
holds any handle, display name, account id or URL, or e-mail found in those fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extractors.social.redact import MIN_IDENTITY_CHARS
from tests.extractors.social.conftest import rows
from tests.extractors.social.replay import fixture_identities, ingest_all_fixtures


def _dump_every_table(url: str) -> dict[str, str]:
    tables = rows(
        url,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    return {
        f"{schema}.{table}": "\n".join(
            r[0] for r in rows(url, f'SELECT t::text FROM "{schema}"."{table}" t')
        )
        for schema, table in tables
    }


@pytest.mark.timeout(120)
def test_no_fixture_identity_reaches_any_table(
    wire: Path, warehouse_url: str, make_source, monkeypatch
) -> None:
    replay = ingest_all_fixtures(wire, warehouse_url, make_source, monkeypatch)
    assert all(r.status == "succeeded" for r in replay.reports), [r.error for r in replay.reports]
    landed = rows(warehouse_url, "SELECT source, count(*) FROM raw.posts GROUP BY 1 ORDER BY 1")
    # Every platform landed posts (so the scan below is not vacuous).
    assert {s for s, n in landed if n > 0} == {
        "all_bluesky",
        "all_mastodon_local",
        "all_mastodon_public",
        "all_mastodon_tags",
        "all_reddit",
        "all_rss",
    }

    identities = fixture_identities(wire)
    # Sanity of the extraction itself: it found the kinds of identity we look for.
    assert {
        "simonpcouch",
        "Simon P. Couch",
        "planetcarnival.bsky.social",
        "Lil_SpazTest",
    } <= identities
    assert len(identities) > 300
    # Shorter strings are initials or emoji fragments ("G.", "DD"), not identifying.
    needles = sorted(i for i in identities if len(i) >= MIN_IDENTITY_CHARS)

    dumps = _dump_every_table(warehouse_url)
    assert len(dumps) >= 8 and sum(len(d) for d in dumps.values()) > 50_000
    leaks = []
    for needle in needles:
        # As a whole token, in any case: "notes" the handle, not "footnotes".
        pattern = re.compile(rf"(?<![\w]){re.escape(needle)}(?![\w])", re.IGNORECASE)
        for table, dump in dumps.items():
            match = pattern.search(dump)
            if match:
                context = dump[max(0, match.start() - 60) : match.end() + 60]
                leaks.append(f"{needle!r} in {table}: ...{context}...")
    assert not leaks, "\n".join(leaks)
