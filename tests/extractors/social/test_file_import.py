"""File import against a real PostgreSQL: idempotence, updates, rejections, privacy."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg2
import pytest

from extractors.social.file_import import import_file
from tests.conftest import TEST_PEPPER

HANDLES = ["@anna_k@demo.social", "@bob_rdam", "u/malmo_mikael"]
NAMES = ["Anna Kowalski", "Bob de Rotterdammer", "Mikael Svensson"]
EMAILS = ["anna.k@example.org", "bob@voorbeeld.nl"]


def _post(i: int, **extra) -> dict:
    return {
        "source": "demo_mastodon_berlin",
        "platform": "mastodon",
        "external_id": f"m-{i}",
        "created_at": f"2026-08-0{1 + i % 5}T10:00:00Z",
        "author_handle": HANDLES[i % 3],
        "author_name": NAMES[i % 3],
        "text": f"Neue Sprachkurse in Berlin {i}, Fragen an {EMAILS[i % 2]} oder {HANDLES[i % 3]}",
        "city_code": "DE001C",
        "url": f"https://demo.social/{HANDLES[i % 3]}/{i}",
        "labels": {"areas": ["language"]},
        **extra,
    }


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_import_is_idempotent_and_updates_edits(warehouse_url: str, tmp_path: Path) -> None:
    posts = [json.dumps(_post(i)).encode() for i in range(50)]
    path = _write(tmp_path / "posts.ndjson", posts)
    first = import_file(warehouse_url, path, pepper=TEST_PEPPER, batch_size=7)
    assert (first.inserted, first.updated, first.unchanged, first.rejected) == (50, 0, 0, 0)
    second = import_file(warehouse_url, path, pepper=TEST_PEPPER, batch_size=7)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 50)
    edited = [*posts[:49], json.dumps(_post(49, text="Korrigiert: Sprachkurse")).encode()]
    third = import_file(warehouse_url, _write(path, edited), pepper=TEST_PEPPER)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 49)
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.posts") == [(50,)]
    assert _rows(warehouse_url, "SELECT text FROM raw.posts WHERE external_id = 'm-49'") == [
        ("Korrigiert: Sprachkurse",)
    ]
    runs = _rows(warehouse_url, "SELECT status, inserted FROM raw.import_runs ORDER BY started_at")
    assert runs == [("succeeded", 50), ("succeeded", 0), ("succeeded", 0)]


def test_bad_records_are_quarantined_with_reason_and_position(
    warehouse_url: str, tmp_path: Path
) -> None:
    lines = [
        json.dumps(_post(1)).encode(),
        b'{"source": "s", "text": "truncated',
        b"\xff\xfe not utf-8",
        json.dumps({**_post(2), "created_at": "not a date"}).encode(),
        json.dumps([1, 2, 3]).encode(),
        json.dumps({**_post(3), "text": "mit NUL\x00 Byte &amp; emoji 🙂"}).encode(),
        json.dumps({**_post(4), "external_id": None, "author_handle": "@leaky_handle"}).encode(),
    ]
    path = _write(tmp_path / "mixed.ndjson", lines)
    stats = import_file(warehouse_url, path, pepper=TEST_PEPPER)
    assert (stats.records_read, stats.inserted, stats.rejected) == (7, 2, 5)
    rejected = _rows(
        warehouse_url, "SELECT position, reason, record FROM raw.rejected_records ORDER BY position"
    )
    assert [(p, r.split(":")[0]) for p, r, _ in rejected] == [
        ("mixed.ndjson:2", "invalid JSON"),
        ("mixed.ndjson:3", "invalid UTF-8"),
        ("mixed.ndjson:4", "field 'created_at' is not an ISO 8601 timestamp"),
        ("mixed.ndjson:5", "record is a list, not an object"),
        ("mixed.ndjson:7", "missing field 'external_id'"),
    ]
    # A rejected record keeps its content for a fix, but scrubbed like any post.
    assert all("leaky_handle" not in record for _, _, record in rejected)
    assert _rows(warehouse_url, "SELECT text FROM raw.posts WHERE external_id = 'm-3'") == [
        ("mit NUL Byte &amp; emoji 🙂",)
    ]
    # Re-reading the same file files no rejection twice.
    import_file(warehouse_url, path, pepper=TEST_PEPPER)
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.rejected_records") == [(5,)]


def test_no_author_identity_reaches_any_table(warehouse_url: str, tmp_path: Path) -> None:
    posts = [json.dumps(_post(i)).encode() for i in range(30)]
    posts.append(b'{"broken": "@bob_rdam wrote to bob@voorbeeld.nl')
    import_file(warehouse_url, _write(tmp_path / "p.ndjson", posts), pepper=TEST_PEPPER)
    tables = _rows(
        warehouse_url,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('raw', 'ml') AND table_type = 'BASE TABLE'",
    )
    assert len(tables) >= 5
    needles = [h.lstrip("@").split("@")[0].removeprefix("u/") for h in HANDLES] + NAMES + EMAILS
    for schema, table in tables:
        dump = "\n".join(
            map(str, _rows(warehouse_url, f'SELECT t::text FROM {schema}."{table}" t'))
        )
        for needle in needles:
            assert needle.lower() not in dump.lower(), f"{needle!r} found in {schema}.{table}"


def test_missing_file_is_a_clear_error(warehouse_url: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="import file not found"):
        import_file(warehouse_url, tmp_path / "nope.ndjson", pepper=TEST_PEPPER)
