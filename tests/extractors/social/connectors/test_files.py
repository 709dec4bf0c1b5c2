"""File sources: declared mappings (4CAT CSV, X/Twitter archives, custom), native platform
objects, cursors that skip finished files and resume unfinished ones, and hostile records."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.social.config import ConfigError
from extractors.social.runner import run_source
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar
from tests.extractors.social.fakes import load

FOURCAT_COLUMNS = [
    "id",
    "thread_id",
    "author",
    "body",
    "subject",
    "timestamp",
    "unix_timestamp",
    "hashtags",
    "num_likes",
]


def _write_4cat(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FOURCAT_COLUMNS)
        for i in range(n):
            stamp = datetime(2026, 3, 1 + i % 3, 12, 0, i % 60, tzinfo=UTC)
            writer.writerow(
                [
                    f"{1000 + i}",
                    "1000",
                    f"kanal_user_{i % 4}",
                    f"Wohnungsnot in Berlin, Teil {i}\nmehr: kontakt{i}@example.org",
                    "Integration" if i % 2 else "",
                    stamp.strftime("%Y-%m-%d %H:%M:%S"),
                    "",
                    "wohnen,berlin",
                    str(i),
                ]
            )
    return path


def test_4cat_csv_export_with_preset_mapping(
    tmp_path: Path, warehouse_url: str, make_source
) -> None:
    _write_4cat(tmp_path / "telegram_export.csv", 12)
    source = make_source(
        id="fourcat",
        kind="file",
        languages=["de"],
        cities=["DE001C"],
        options={"path": "*.csv", "mapping": "4cat", "platform": "telegram"},
    )
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert report.status == "succeeded", report.error
    assert report.stats["inserted"] == 12
    text, platform, lang, city, payload, created = rows(
        warehouse_url,
        "SELECT text, platform, lang_hint, city_hint, payload, created_at FROM raw.posts WHERE external_id = '1001'",
    )[0]
    assert text == "Integration\n\nWohnungsnot in Berlin, Teil 1\nmehr: [email]"
    assert (platform, lang, city) == ("telegram", "de", "DE001C")
    assert payload == {"like_count": 1, "hashtags": ["wohnen", "berlin"]}
    assert created == datetime(2026, 3, 2, 12, 0, 1, tzinfo=UTC)
    assert scalar(warehouse_url, "SELECT count(DISTINCT author_pseudonym) FROM raw.posts") == 4
    assert (
        scalar(warehouse_url, "SELECT count(*) FROM raw.posts WHERE text LIKE '%kanal_user%'") == 0
    )


def _tweet(i: int, **extra) -> dict:
    return {
        "tweet": {
            "id_str": str(1_700_000_000_000_000_000 + i),
            "created_at": f"Wed Oct {10 + i % 5} 20:19:24 +0000 2025",
            "full_text": f"RT @stadt_rdam: Taalcafé voor nieuwkomers in Rotterdam-Zuid #{i} 🇳🇱 &amp; more",
            "lang": "nl" if i % 2 else "und",
            "favorite_count": str(i),
            "retweet_count": "0",
            "entities": {
                "hashtags": [{"text": "integratie", "indices": [0, 1]}],
                "user_mentions": [
                    {"screen_name": "stadt_rdam", "name": "Gemeente Voorbeeld", "id_str": "42"}
                ],
            },
            **extra,
        }
    }


def test_x_archive_tweets_js_streams_and_maps(
    tmp_path: Path, warehouse_url: str, make_source
) -> None:
    archive = tmp_path / "archive" / "data"
    archive.mkdir(parents=True)
    tweets = [_tweet(i) for i in range(25)]
    tweets[3]["tweet"]["full_text"] = "Gemeente Voorbeeld opent een nieuw loket"
    tweets[7]["tweet"]["created_at"] = "yesterday"
    (archive / "tweets.js").write_text(
        "window.YTD.tweets.part0 = " + json.dumps(tweets, indent=2, ensure_ascii=False),
        encoding="utf-8",
    )
    source = make_source(
        id="x_partner",
        kind="file",
        cities=["NL037C"],
        options={"path": "archive/data/tweets.js", "mapping": "x_archive", "batch_size": 10},
    )
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert (report.stats["inserted"], report.stats["rejected"]) == (24, 1)
    assert report.pages == 3
    first = rows(
        warehouse_url,
        "SELECT text, lang_hint, payload, platform FROM raw.posts ORDER BY external_id LIMIT 2",
    )
    assert first[0] == (
        "RT @user: Taalcafé voor nieuwkomers in Rotterdam-Zuid #0 🇳🇱 &amp; more",
        None,  # "und" is no language
        {"like_count": 0, "repost_count": 0, "hashtags": ["integratie"]},
        "x",
    )
    assert first[1][1] == "nl"
    # A mentioned account's display name is redacted even where it is not an @mention.
    assert (
        scalar(warehouse_url, "SELECT text FROM raw.posts WHERE external_id LIKE '%003'")
        == "@user opent een nieuw loket"
    )
    reason, position = rows(warehouse_url, "SELECT reason, position FROM raw.rejected_records")[0]
    assert position == "tweets.js#7" and "not an ISO 8601" in reason


def test_native_mastodon_capture(
    wire: Path, tmp_path: Path, warehouse_url: str, make_source
) -> None:
    """A researcher's NDJSON capture of raw statuses (as 4CAT's Mastodon data source keeps them)."""
    statuses = load(wire, "mastodon/get_timeline_public_default.json")
    (tmp_path / "capture.ndjson").write_text(
        "\n".join(json.dumps(s) for s in statuses), encoding="utf-8"
    )
    source = make_source(
        id="capture", kind="file", options={"path": "capture.ndjson", "native": "mastodon"}
    )
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert report.stats["inserted"] == 20
    assert scalar(warehouse_url, "SELECT count(DISTINCT platform) FROM raw.posts") == 1


def test_finished_files_are_skipped_changed_ones_reread(
    tmp_path: Path, warehouse_url: str, make_source
) -> None:
    path = _write_4cat(tmp_path / "a.csv", 30)
    source = make_source(
        id="fourcat_resume",
        kind="file",
        options={"path": "*.csv", "mapping": "4cat", "platform": "telegram", "batch_size": 7},
    )
    first = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert (first.stats["inserted"], first.pages) == (30, 5)
    again = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert again.stats["records_read"] == 0 and again.pages == 0  # finished and unchanged
    _write_4cat(path, 33)  # the export grew: read again, only the new records are new
    grown = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert (grown.stats["inserted"], grown.stats["unchanged"]) == (3, 30)
    cursor = scalar(
        warehouse_url, "SELECT cursor FROM raw.source_cursors WHERE source = 'fourcat_resume'"
    )
    assert cursor["records"] == 33 and cursor["done"] is True


def test_hostile_records_are_rejected_one_by_one(
    tmp_path: Path, warehouse_url: str, make_source
) -> None:
    good = {
        "platform": "x_import",
        "created_at": "2026-05-01T10:00:00Z",
        "author_handle": "@someone",
    }
    huge = "ä" * 999_000 + " 🙂 שלום"
    lines = [
        json.dumps(
            {**good, "external_id": "ok-1", "text": "Caf&eacute; &amp; Integration 🙂 مرحبا"}
        ).encode(),
        json.dumps({**good, "external_id": "nul", "text": "NUL\u0000 im Text"}).encode(),
        b'{"external_id": "bad-utf8", "text": "\xff\xfe", "platform": "x"}',
        json.dumps({**good, "external_id": "huge", "text": huge}).encode(),
        json.dumps({**good, "external_id": "too-big", "text": "x" * 1_000_001}).encode(),
        json.dumps({**good, "external_id": "no-text"}).encode(),
        json.dumps({**good, "external_id": "typed", "text": "t", "like_count": "many"}).encode(),
        json.dumps({**good, "external_id": 42, "text": "numeric id is fine"}).encode(),
        json.dumps({**good, "external_id": "list-text", "text": ["a"]}).encode(),
        b'{"external_id": "cut", "text": "trunc',
    ]
    (tmp_path / "mixed.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    source = make_source(id="hostile", kind="file", options={"path": "mixed.ndjson"})
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert report.status == "succeeded"
    assert (report.stats["inserted"], report.stats["rejected"]) == (4, 6)
    texts = dict(rows(warehouse_url, "SELECT external_id, text FROM raw.posts"))
    assert (
        texts["ok-1"] == "Caf&eacute; &amp; Integration 🙂 مرحبا"
    )  # import text is kept as written
    assert texts["nul"] == "NUL im Text" and texts["42"] == "numeric id is fine"
    assert texts["huge"] == huge and len(texts["huge"].encode()) > 1_990_000
    reasons = dict(rows(warehouse_url, "SELECT position, reason FROM raw.rejected_records"))
    assert reasons == {
        "mixed.ndjson:3": "invalid UTF-8: invalid start byte",
        "mixed.ndjson:5": "text longer than 1000000 characters (1000001)",
        "mixed.ndjson:6": "missing field 'text'",
        "mixed.ndjson:7": "field 'like_count' must be a count, got 'many'",
        "mixed.ndjson:9": "field 'text' must be a string, got list",
        "mixed.ndjson:10": "invalid JSON: Invalid control character at",
    }


def test_invalid_utf8_in_csv_rejects_the_row_not_the_file(
    tmp_path: Path, warehouse_url: str, make_source
) -> None:
    header = ",".join(FOURCAT_COLUMNS).encode()
    latin1 = b'7,7,someone,"Ung\xfcltig",,2026-03-01 10:00:00,,,0'  # not UTF-8
    short = "…".encode()  # a row with one field
    fine = '8,8,someone,"Gültig \x00 ok",,2026-03-01 10:00:00,,,0'.encode()  # NUL is dropped
    (tmp_path / "bytes.csv").write_bytes(b"\n".join([header, latin1, short, fine]) + b"\n")
    source = make_source(
        id="bytes",
        kind="file",
        options={"path": "bytes.csv", "mapping": "4cat", "platform": "telegram"},
    )
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert report.stats["inserted"] == 1
    reasons = sorted(r for (r,) in rows(warehouse_url, "SELECT reason FROM raw.rejected_records"))
    assert reasons == ["invalid CSV: 1 fields, the header has 9", "invalid UTF-8 in field 'text'"]


def test_mapping_errors_name_the_field(make_source) -> None:
    with pytest.raises(ConfigError) as bad:
        make_source(
            id="m1",
            kind="file",
            options={"path": "x.csv", "mapping": {"text": "body"}, "platform": "telegram"},
        )
    assert "source 'm1' (sources[0]), field 'options.mapping'" in str(bad.value)
    assert "no source for required field(s) ['external_id', 'created_at']" in str(bad.value)
    with pytest.raises(ConfigError, match="unknown preset 'fourcat'"):
        make_source(id="m2", kind="file", options={"path": "x.csv", "mapping": "fourcat"})
    with pytest.raises(ConfigError, match="needs 'platform'"):
        make_source(id="m3", kind="file", options={"path": "x.csv", "mapping": "4cat"})


def test_declared_mapping_with_parse_join_and_constants(
    tmp_path: Path, warehouse_url: str, make_source
) -> None:
    (tmp_path / "fb.csv").write_text(
        "post_id,page,created,headline,message,reactions\n"
        "fb1,Stad Antwerpen,1767225600,Nieuw,Inburgering start in maart,12\n",
        encoding="utf-8",
    )
    source = make_source(
        id="facebook_pages",
        kind="file",
        cities=["BE002C"],
        options={
            "path": "fb.csv",
            "platform": "facebook",
            "mapping": {
                "external_id": "post_id",
                "created_at": {"from": "created", "parse": "epoch"},
                "text": {"from": ["headline", "message"], "join": " — "},
                "author_name": "page",
                "like_count": "reactions",
                "lang": {"value": "nl"},
            },
        },
    )
    report = run_source(warehouse_url, source, pepper=TEST_PEPPER)
    assert report.stats["inserted"] == 1, report
    assert rows(warehouse_url, "SELECT text, lang_hint, created_at, platform FROM raw.posts") == [
        ("Nieuw — Inburgering start in maart", "nl", datetime(2026, 1, 1, tzinfo=UTC), "facebook")
    ]
