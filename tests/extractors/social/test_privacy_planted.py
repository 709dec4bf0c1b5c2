"""Identities planted in import files, in every place one can hide: author fields of records
that are rejected, lines that cannot be decoded, profile links without a scheme, obfuscated
e-mail addresses, hashtags, reasons of rejection, and post ids that name their author. After
the import (and the classification stage), no text or JSON column of any table holds any of
them, while the posts themselves landed and stay findable by their original id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.warehouse import classify_warehouse
from core.privacy import external_key
from extractors.social.file_import import import_file
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar

AUTHOR = {
    "author_id": "plantedauthorid9",
    "author_handle": "@planted_handle_rej",
    "author_name": "Planted Rejname",
    "author_identities": ["planted_ident_x"],
}
PROFILES = [
    "twitter.com/planted_tw",
    "x.com/planted_xx",
    "bsky.app/profile/planted-bsky.bsky.social",
    "instance.social/@planted_masto",
    "linkedin.com/in/planted-li",
    "t.me/planted_tg",
    "facebook.com/planted.fb",
    "instagram.com/planted_ig",
    "tiktok.com/@planted_tt",
    "youtube.com/@planted_yt",
]
OBFUSCATED = [
    "planted_ob1 [at] example [dot] org",
    "planted_ob2(at)example.org",
    "planted_ob3 at example dot org",
    "planted_ob4 AT example DOT com",
    "planted_ob5 {at} example {dot} de",
]
HASHTAGS = ["planted_tag_mail@example.org", "@planted_tag_handle", "x.com/planted_tag_profile"]
IDS = [
    "at://did:plc:plantedDid123/app.bsky.feed.post/3kplanted",
    "https://mastodon.social/@planted_url_author/1234",
    "https://x.com/planted_xid/status/99",
]
NEEDLES = [
    "plantedauthorid9",
    "planted_handle_rej",
    "Planted Rejname",
    "planted_ident_x",
    "planted_raw_handle",
    "Planted Rawname",
    "planted_csv_handle",
    "planted_reason",
    "did:plc",
    "plantedDid123",
    "planted_url_author",
    "planted_xid",
    "planted_tw",
    "planted_xx",
    "planted-bsky",
    "planted_masto",
    "planted-li",
    "planted_tg",
    "planted.fb",
    "planted_ig",
    "planted_tt",
    "planted_yt",
    "planted_ob",
    "planted_tag",
]


def _record(i: int, **fields: object) -> dict:
    return {
        "source": "planted",
        "platform": "mastodon",
        "external_id": f"p-{i}",
        "created_at": "2026-06-01T10:00:00Z",
        "text": f"Integrationskurse in Wien {i}",
        "lang": "de",
        "city_code": "AT001C",
        **fields,
    }


def _ndjson_lines() -> list[bytes]:
    records = [
        _record(0, text="Profile: " + " , ".join(PROFILES)),
        _record(1, text="Write to " + "; ".join(OBFUSCATED)),
        _record(2, hashtags=[*HASHTAGS, "integration"]),
        *(_record(3 + n, external_id=i) for n, i in enumerate(IDS)),
        # Rejected, with every author field and the names in the text too:
        _record(
            10,
            **AUTHOR,
            created_at="by planted_handle_rej",
            text="Planted Rejname says hi to planted_ident_x at " + PROFILES[1],
        ),
        _record(11, **AUTHOR, lang="@planted_reason"),
        _record(12, **AUTHOR, external_id=IDS[0], like_count="many"),
        _record(13, **AUTHOR, text=["Planted Rejname"], hashtags=HASHTAGS),
        _record(14, author_name="Planted Rejname", text={"author": "Planted Rejname"}),
    ]
    lines = [json.dumps(r).encode() for r in records]
    # Undecodable: nothing of these lines may be kept.
    lines.append(b'{"author_handle": "planted_raw_handle", "author_name": "Planted Rawname", ')
    lines.append(b'{"author_handle": "planted_raw_handle", "text": "\xff Planted Rawname"}')
    return lines


@pytest.mark.timeout(300)
def test_no_planted_identity_reaches_any_column(warehouse_url: str, tmp_path: Path) -> None:
    ndjson = tmp_path / "planted.ndjson"
    ndjson.write_bytes(b"\n".join(_ndjson_lines()) + b"\n")
    csv_file = tmp_path / "planted.csv"
    csv_file.write_text(
        "source,platform,external_id,created_at,text,author_handle\n"
        "planted,mastodon,p-40,2026-06-01T10:00:00Z,Wien,planted_csv_handle\n"
        "planted,mastodon,p-41,2026-06-01T10:00:00Z,planted_csv_handle,wrote,extra\n"
        'planted,mastodon,p-42,2026-06-01T10:00:00Z,"planted_csv_handle never closed,x\n'
        "planted,mastodon,p-43,not a time,planted_csv_handle,planted_csv_handle\n",
        encoding="utf-8",
    )
    first = import_file(warehouse_url, ndjson, pepper=TEST_PEPPER)
    second = import_file(warehouse_url, csv_file, pepper=TEST_PEPPER)
    assert (first.inserted, first.rejected) == (6, 7)
    assert (second.inserted, second.rejected) == (1, 3)
    classified = classify_warehouse(warehouse_url)
    assert classified, "the classification stage ran on the planted posts"

    # The posts are there, findable from their original ids.
    for original in IDS:
        stored = external_key(original, TEST_PEPPER)
        assert stored != original and len(stored) == 32
        assert (
            scalar(
                warehouse_url, "SELECT count(*) FROM raw.posts WHERE external_id = %s", (stored,)
            )
            == 1
        )
    tags = scalar(warehouse_url, "SELECT payload FROM raw.posts WHERE external_id = 'p-2'")
    assert tags["hashtags"] == ["integration"]
    texts = dict(rows(warehouse_url, "SELECT external_id, text FROM raw.posts"))
    assert texts["p-0"].count("[profile]") == len(PROFILES), texts["p-0"]
    assert texts["p-1"].count("[email]") == len(OBFUSCATED), texts["p-1"]
    # Rejections keep their allow-listed fields, scrubbed, for a fix.
    kept = [
        json.loads(r) for (r,) in rows(warehouse_url, "SELECT record FROM raw.rejected_records")
    ]
    assert any(k.get("text", "").startswith("@user says hi") for k in kept), kept
    assert any(k.get("external_id") == external_key(IDS[0], TEST_PEPPER) for k in kept)

    columns = rows(
        warehouse_url,
        "SELECT table_schema, table_name, column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' "
        "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND c.data_type IN ('text', 'jsonb', 'json', 'character varying', 'ARRAY')",
    )
    schemas = {schema for schema, _, _ in columns}
    assert {"raw", "ml"} <= schemas
    leaks = []
    scanned = 0
    for schema, table, column in columns:
        values = rows(
            warehouse_url,
            f'SELECT "{column}"::text FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL',
        )
        scanned += len(values)
        for (value,) in values:
            folded = value.casefold()
            leaks += [
                f"{needle!r} in {schema}.{table}.{column}: {value[:200]}"
                for needle in NEEDLES
                if needle.casefold() in folded
            ]
    assert scanned > 100
    assert not leaks, "\n".join(leaks)
