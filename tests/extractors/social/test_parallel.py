"""Large NDJSON imports: worker processes and direct COPY give exactly what the serial path
gives - the same rows, rejections and coverage counts - and stay idempotent."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import psycopg2

from demo.generate import iter_posts
from extractors.social import file_import
from extractors.social.file_import import import_file
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows

SNAPSHOT = {
    "posts": "SELECT source, external_id, platform, created_at, author_pseudonym, text, lang_hint, "
    "city_hint, country_hint, payload::text, content_hash FROM raw.posts ORDER BY 1, 2",
    "rejected": "SELECT source, position, reason, record FROM raw.rejected_records ORDER BY 2",
    "daily": "SELECT source, day, lang, city, posts FROM raw.source_coverage_daily ORDER BY 1, 2, 3, 4",
    "totals": "SELECT source, platform, first_post_at, last_post_at, posts_total "
    "FROM raw.source_coverage ORDER BY 1",
}


def _write(path: Path) -> Path:
    lines = [
        json.dumps(p, ensure_ascii=False).encode() for p in itertools.islice(iter_posts(3000), 3000)
    ]
    edited = json.loads(lines[10])
    edited["text"] = "Korrigiert: " + edited["text"]
    lines.insert(2500, json.dumps(edited, ensure_ascii=False).encode())  # same key, later version
    lines.insert(700, b'{"broken": ')
    lines.insert(1400, b"\xff\xfe")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _snapshot(url: str) -> dict[str, list]:
    return {name: rows(url, query) for name, query in SNAPSHOT.items()}


def _clear(url: str) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "TRUNCATE raw.posts, raw.rejected_records, raw.source_coverage, "
            "raw.source_coverage_daily CASCADE"
        )


def test_parallel_import_equals_serial_import(
    warehouse_url: str, tmp_path: Path, monkeypatch
) -> None:
    path = _write(tmp_path / "demo.ndjson")
    serial = import_file(warehouse_url, path, pepper=TEST_PEPPER, batch_size=400, workers=1)
    expected = _snapshot(warehouse_url)
    assert (serial.records_read, serial.inserted, serial.updated, serial.rejected) == (
        3003,
        3000,
        1,
        2,
    )
    _clear(warehouse_url)

    monkeypatch.setattr(file_import, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(file_import, "PARALLEL_BATCH_SIZE", 400)
    parallel = import_file(warehouse_url, path, pepper=TEST_PEPPER, batch_size=400, workers=2)
    assert (parallel.records_read, parallel.inserted, parallel.rejected) == (3003, 3000, 2)
    assert parallel.rejection_reasons == {"invalid JSON": 1, "invalid UTF-8": 1}
    assert _snapshot(warehouse_url) == expected
    # The edited version (a later line) won, whichever batch it was in.
    assert (
        "Korrigiert"
        in rows(warehouse_url, "SELECT text FROM raw.posts WHERE text LIKE 'Korrigiert%'")[0][0]
    )

    again = import_file(warehouse_url, path, pepper=TEST_PEPPER, batch_size=400, workers=2)
    # Nothing new; the one key the file holds twice (in two batches) is set to its first, then
    # again to its last version - as the serial path would - and ends as before.
    assert (again.inserted, again.updated, again.unchanged) == (0, 2, 2999)
    assert _snapshot(warehouse_url) == expected


def test_parallel_import_of_a_compressed_file(
    warehouse_url: str, tmp_path: Path, monkeypatch
) -> None:
    import gzip

    path = _write(tmp_path / "demo.ndjson")
    import_file(warehouse_url, path, pepper=TEST_PEPPER, batch_size=400, workers=1)
    expected = _snapshot(warehouse_url)
    _clear(warehouse_url)
    packed = tmp_path / "demo.ndjson.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    monkeypatch.setattr(file_import, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(file_import, "PARALLEL_BATCH_SIZE", 400)
    stats = import_file(warehouse_url, packed, pepper=TEST_PEPPER, batch_size=400, workers=2)
    assert (stats.records_read, stats.inserted, stats.rejected) == (3003, 3000, 2)
    got = _snapshot(warehouse_url)
    assert {k: got[k] for k in ("posts", "daily", "totals")} == {
        k: expected[k] for k in ("posts", "daily", "totals")
    }
    assert [r[1] for r in got["rejected"]] == [
        r[1].replace("demo.ndjson", "demo.ndjson.gz") for r in expected["rejected"]
    ]
