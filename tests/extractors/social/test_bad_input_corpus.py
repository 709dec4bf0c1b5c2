"""A generated corpus of bad input files, each imported into a real PostgreSQL: no file's content
stops its import, and every record is accounted for - it landed in raw.posts or it is in
raw.rejected_records with a reason that names what was wrong.

Every case is built here (no fixture files) and run through the serial importer; the NDJSON
cases also through the worker processes of the parallel importer (its size threshold lowered so
that small files take that path).
"""

from __future__ import annotations

import gzip
import json
import random
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from extractors.social import file_import
from extractors.social.file_import import import_file
from extractors.social.records import IMPORT_FIELDS
from monitor import pipeline
from tests.conftest import TEST_PEPPER
from tests.extractors.social.conftest import rows, scalar

SOURCE = "corpus_source"


def post(i: int, **fields: object) -> dict:
    record = {
        "source": SOURCE,
        "platform": "mastodon",
        "external_id": f"c-{i}",
        "created_at": f"2026-05-{1 + i % 28:02d}T10:00:00Z",
        "text": f"Neue Sprachkurse im Stadtteil, Nummer {i}",
        "lang": "de",
        "city_code": "DE001C",
        "country_code": "DE",
        "like_count": i % 7,
        "hashtags": ["integration"],
    }
    record.update(fields)
    return record


def line(i: int, **fields: object) -> bytes:
    return json.dumps(post(i, **fields), ensure_ascii=False).encode()


def good_lines(start: int, n: int) -> list[bytes]:
    return [line(i) for i in range(start, start + n)]


@dataclass
class Case:
    """A file and what must come of it: `posts` distinct posts landed, and one rejection per
    entry of `rejected` (a part of its reason). `records` is the number of records the file
    holds (lines that are not blank, for NDJSON)."""

    name: str
    filename: str
    content: bytes
    posts: int
    rejected: list[str] = field(default_factory=list)
    records: int | None = None

    @property
    def expected_records(self) -> int:
        return self.records if self.records is not None else self.posts + len(self.rejected)


def ndjson(lines: list[bytes], *, end: bytes = b"\n") -> bytes:
    return end.join(lines) + end


def _truncated_gzip() -> Case:
    data = ndjson(good_lines(0, 3000))
    compressed = gzip.compress(data)
    cut = compressed[: len(compressed) // 2]
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    complete, _, partial = readable.rpartition(b"\n")
    posts = complete.count(b"\n") + 1
    rejected = ["invalid JSON"] if partial else []
    return Case("truncated gzip", "cut.ndjson.gz", cut, posts, [*rejected, "truncated gzip"])


def _bad_checksum_gzip() -> Case:
    compressed = bytearray(gzip.compress(ndjson(good_lines(0, 50))))
    compressed[-8] ^= 0xFF  # the CRC-32 of the trailer
    # Every line decompresses; the checksum fails at the very end, after the last line ended.
    return Case("gzip with a bad checksum", "crc.ndjson.gz", bytes(compressed), 50, ["gzip"])


def _gzip_of_garbage() -> Case:
    garbage = random.Random(7).randbytes(20_000)
    records = [chunk for chunk in garbage.split(b"\n") if chunk.strip()]
    return Case(
        "gzip of garbage",
        "garbage.ndjson.gz",
        gzip.compress(garbage),
        0,
        ["invalid"] * len(records),
    )


def _wrong_types() -> Case:
    """Every import field with values of every wrong JSON type: each record lands (where the
    field tolerates it) or is rejected with a reason naming the field."""
    values = [[1, 2], {"a": "b"}, True, 1.5, 12345, -3, None, ""]
    lines = []
    for n, (name, value) in enumerate((f, v) for f in IMPORT_FIELDS for v in values):
        lines.append(json.dumps({**post(10_000 + n), name: value}).encode())
    return Case("wrong types for each field", "types.ndjson", ndjson(lines), -1, [], len(lines))


def _duplicates() -> Case:
    lines = [
        b'{"source": "corpus_source", "platform": "mastodon", "external_id": "dup-key", '
        b'"created_at": "2026-05-01T10:00:00Z", "text": "first", "text": "second wins"}',
        line(1),
        line(1),  # the same post twice in one file
        line(1, text="edited in the same file"),
        line(2),
    ]
    return Case("duplicate keys", "dups.ndjson", ndjson(lines), 3, [], 5)


NDJSON_CASES: list[Callable[[], Case]] = [
    lambda: Case(
        "deeply nested JSON",
        "nested.ndjson",
        ndjson(
            [
                *good_lines(0, 3),
                b"[" * 100_000 + b"]" * 100_000,
                b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
                b'{"x": ' + b'{"x": ' * 20_000 + b"1" + b"}" * 20_001,
                *good_lines(3, 3),
            ]
        ),
        6,
        ["nested too deeply"] * 3,
    ),
    lambda: Case(
        "timestamps out of range",
        "times.ndjson",
        ndjson(
            [
                line(0),
                line(1, created_at="9999-12-31T23:59:59-05:00"),
                line(2, created_at="0001-01-01T00:00:00+05:00"),
                line(3, created_at="1900-01-01T00:00:00Z"),
                line(4, created_at="2200-01-01T00:00:00Z"),
                line(5, created_at="2026-05-01"),
                line(6, created_at="yesterday"),
                line(7, created_at=1_780_000_000),
                line(8),
            ]
        ),
        2,
        ["out of range"] * 4 + ["no time zone", "not an ISO 8601", "created_at"],
    ),
    lambda: Case(
        "integers of thousands of digits",
        "bigints.ndjson",
        ndjson(
            [
                line(0),
                b'{"external_id": ' + b"9" * 5000 + b', "text": "x", "created_at": "2026-05-01"}',
                line(1)[:-1] + b', "like_count": ' + b"7" * 6000 + b"}",
                line(2)[:-1] + b', "reply_count": ' + b"7" * 40 + b"}",
                line(3, external_id=int("9" * 100)),
                line(4, text=int("1" * 4000)),
                line(5, like_count="9" * 30),
                line(6, like_count="²"),
                line(7, like_count=1e300),
                line(8),
            ]
        ),
        2,
        ["number too long"] * 2
        + ["out of range", "number too large", "number too large"]
        + ["must be a count", "must be a count", "out of range"],
    ),
    lambda: Case(
        "natural keys longer than the index allows",
        "keys.ndjson",
        ndjson(
            [
                line(0),
                line(1, external_id="k" * 3000),
                line(2, external_id="ü" * 600),  # 600 characters, 1,200 bytes
                line(3, source="s" * 3000),
                line(4, external_id="k" * 1000),  # exactly at the limit: lands
                line(5),
            ]
        ),
        3,
        ["'external_id' longer than"] * 2 + ["'source' longer than"],
    ),
    lambda: Case(
        "UTF-8 byte order mark", "bom.ndjson", b"\xef\xbb\xbf" + ndjson(good_lines(0, 4)), 4
    ),
    _truncated_gzip,
    _bad_checksum_gzip,
    lambda: Case("not gzip at all", "fake.ndjson.gz", b"this is not gzip\n" + line(0), 0, ["gzip"]),
    lambda: Case(
        "gzip with garbage after it",
        "trailing.ndjson.gz",
        gzip.compress(ndjson(good_lines(0, 5))) + b"\x00garbage",
        5,
        ["gzip"],
    ),
    _gzip_of_garbage,
    lambda: Case("empty gzip file", "empty.ndjson.gz", b"", 0),
    lambda: Case("zero-byte file", "empty.ndjson", b"", 0),
    lambda: Case("CRLF line ends", "crlf.ndjson", ndjson(good_lines(0, 5), end=b"\r\n"), 5),
    lambda: Case(
        "invalid UTF-8 and mixed encodings",
        "bytes.ndjson",
        ndjson(
            [
                line(0),
                b'{"text": "caf\xe9", "external_id": "l1"}',  # Latin-1
                b"\xff\xfe" + '{"text": "utf16"}'.encode("utf-16-le"),
                b'{"text": "\xc3\x28", "external_id": "bad-seq"}',
                line(
                    1,
                    text="Gr\u00fc\u00dfe aus M\u00fcnchen \U0001f642 \u0645\u0631\u062d\u0628\u0627",
                ),
            ]
        ),
        2,
        ["invalid UTF-8"] * 3,
    ),
    lambda: Case(
        "NUL bytes",
        "nul.ndjson",
        ndjson(
            [
                line(0, text="mit \x00 NUL"),
                line(1, external_id="nul\x00id"),
                b'{"text": "raw \x00 byte"}',
                b"\x00\x00\x00",
                line(2),
            ]
        ),
        3,
        ["invalid JSON"] * 2,
    ),
    lambda: Case(
        "empty and blank lines",
        "blank.ndjson",
        b"\n\n" + line(0) + b"\n   \n\t\n" + line(1) + b"\n\n\n",
        2,
    ),
    lambda: Case(
        "lone surrogates in JSON escapes",
        "surrogates.ndjson",
        ndjson(
            [
                line(0),
                line(1)[:-1] + b', "text": "a \\ud800 b"}',
                line(2)[:-1] + b', "external_id": "\\udfff"}',
                line(3)[:-1] + b', "hashtags": ["\\udc80"]}',
                line(4)[:-1] + b', "city_code": "\\ud83d"}',
                line(5, text="a real pair \U0001f642"),
            ]
        ),
        2,
        [f"invalid UTF-8 in field '{f}'" for f in ("text", "external_id", "hashtags", "city_code")],
    ),
    lambda: Case(
        "huge lines",
        "huge.ndjson",
        ndjson(
            [
                line(0, text="lang " * 200_000),  # 1,000,000 characters: still a post
                line(1, text="x" * 1_000_001),
                b"{" + b"a" * 3_000_000,
                line(2),
            ]
        ),
        2,
        ["text longer than", "invalid JSON"],
    ),
    lambda: Case(
        "arrays and scalars instead of objects",
        "shapes.ndjson",
        ndjson([b"[1, 2, 3]", b'"a string"', b"42", b"null", b"true", b"{}", line(0)]),
        1,
        [f"record is a {t}" for t in ("list", "str", "int", "NoneType", "bool")] + ["missing"],
    ),
    _wrong_types,
    _duplicates,
]


def _csv(lines: list[str], end: str = "\n") -> bytes:
    return (end.join(lines) + end).encode()


HEADER = "source,platform,external_id,created_at,text,city_code"


def row(i: int, text: str = "Wohnungen in Berlin") -> str:
    return f"{SOURCE},mastodon,csv-{i},2026-05-0{1 + i % 9}T10:00:00Z,{text},DE001C"


CSV_CASES: list[Callable[[], Case]] = [
    lambda: Case(
        "CSV with an unbalanced quote",
        "quote.csv",
        _csv([HEADER, row(0), row(1, '"opened and never closed'), *[row(i) for i in range(2, 9)]]),
        8,
        ["unbalanced quote"],
    ),
    lambda: Case(
        "CSV with an unbalanced quote before quoted fields",
        "quote2.csv",
        _csv(
            [
                HEADER,
                row(1, '"opened'),
                row(2),
                row(3, '"a quoted, proper field"'),
                row(4, '"multi-line\nquoted text"'),
                row(5),
            ]
        ),
        4,
        ["unbalanced quote"],
    ),
    lambda: Case(
        "CSV with an unbalanced quote on the last line",
        "quote3.csv",
        _csv([HEADER, row(0), row(1, '"never closed')]),
        1,
        ["unbalanced quote"],
    ),
    lambda: Case(
        "CSV with missing and extra columns",
        "columns.csv",
        _csv([HEADER, row(0), "a,b,c", row(1) + ",extra,more", row(2), "lonely"]),
        2,
        ["invalid CSV: 3 fields", "invalid CSV: 8 fields", "invalid CSV: 1 fields"],
    ),
    lambda: Case(
        "CSV with a BOM, CRLF and NUL bytes",
        "bom.csv",
        b"\xef\xbb\xbf" + _csv([HEADER, row(0), row(1, "mit\x00nul"), row(2)], end="\r\n"),
        3,
    ),
    lambda: Case(
        "CSV with invalid UTF-8",
        "bytes.csv",
        _csv([HEADER, row(0)]) + row(1, "caf").encode() + b"\xe9\n" + _csv([row(2)]),
        2,
        ["invalid UTF-8"],
    ),
    lambda: Case(
        "CSV with a stray quote inside a field",
        "stray.csv",
        _csv([HEADER, row(0, 'a "quoted" word'), row(1, '"x"y')]),
        2,
    ),
    lambda: Case("CSV header only", "header.csv", _csv([HEADER]), 0),
    lambda: Case(
        "gzip CSV, truncated",
        "cut.csv.gz",
        gzip.compress(_csv([HEADER, *[row(i) for i in range(500)]]))[:-30],
        -1,
        [],
    ),
]

JSON_CASES: list[Callable[[], Case]] = [
    lambda: Case(
        "JSON array with an element nested too deeply",
        "nested.json",
        b"[" + line(0) + b", " + b"[" * 50_000 + b"]" * 50_000 + b", " + line(1) + b"]",
        1,
        ["nested too deeply"],
    ),
    lambda: Case(
        "JSON array never closed",
        "open.json",
        b"[" + line(0) + b", " + line(1) + b", ",
        2,
        ["not closed"],
    ),
    lambda: Case(
        "X archive part that is not an array", "tweets.js", b"window.x = {};", 0, ["not an array"]
    ),
]


def _import(url: str, path: Path, *, parallel: bool, monkeypatch) -> file_import.ImportStats:
    if parallel:
        monkeypatch.setattr(file_import, "PARALLEL_MIN_BYTES", 0)
    return import_file(url, path, pepper=TEST_PEPPER, workers=2 if parallel else 1)


def _check(url: str, case: Case, stats) -> None:
    landed = stats.inserted + stats.updated + stats.unchanged
    assert stats.records_read == case.expected_records, case.name
    assert landed + stats.rejected == stats.records_read, case.name
    rejected = rows(url, "SELECT position, reason, record FROM raw.rejected_records ORDER BY 1")
    assert len(rejected) == stats.rejected, case.name
    posts = scalar(url, "SELECT count(*) FROM raw.posts")
    if case.posts >= 0:
        assert posts == case.posts, (case.name, rejected)
        reasons = [reason for _, reason, _ in rejected]
        unmatched = list(reasons)
        for expected in case.rejected:
            match = next((r for r in unmatched if expected in r), None)
            assert match is not None, (case.name, expected, reasons)
            unmatched.remove(match)
        assert not unmatched, (case.name, unmatched)
    for position, reason, record in rejected:
        assert position.startswith(case.filename) and reason, (case.name, position)
        json.loads(record)  # allow-listed fields as a JSON object, never the line itself
    status = scalar(url, "SELECT status FROM raw.import_runs WHERE run_id = %s", (stats.run_id,))
    assert status == "succeeded"


def _cases(builders: list[Callable[[], Case]]) -> list:
    built = [b() for b in builders]
    return [pytest.param(c, id=c.name.replace(" ", "_")) for c in built]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("case", _cases(NDJSON_CASES))
def test_ndjson_bad_input(
    case: Case, parallel: bool, warehouse_url: str, tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    stats = _import(warehouse_url, path, parallel=parallel, monkeypatch=monkeypatch)
    _check(warehouse_url, case, stats)
    if case.filename == "types.ndjson":  # each rejection names the field it is about
        for (reason,) in rows(warehouse_url, "SELECT reason FROM raw.rejected_records"):
            assert any(f"'{name}'" in reason for name in IMPORT_FIELDS), reason
    if case.filename == "dups.ndjson":
        texts = dict(rows(warehouse_url, "SELECT external_id, text FROM raw.posts"))
        assert texts["dup-key"] == "second wins"
        assert texts["c-1"] == "edited in the same file"
        assert (stats.inserted, stats.updated, stats.unchanged) == (3, 1, 1)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", _cases(CSV_CASES + JSON_CASES))
def test_csv_and_json_bad_input(case: Case, warehouse_url: str, tmp_path: Path) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    stats = import_file(warehouse_url, path, pepper=TEST_PEPPER, workers=1)
    if case.filename == "cut.csv.gz":  # every row that was read, the cut one, then the failure
        readable = zlib.decompressobj(wbits=31).decompress(case.content)
        lines = readable.decode().split("\n")[1:]
        case.records = len([x for x in lines if x]) + 1
        reasons = [r for (r,) in rows(warehouse_url, "SELECT reason FROM raw.rejected_records")]
        assert any("truncated gzip" in r for r in reasons), reasons
    _check(warehouse_url, case, stats)


def test_unbalanced_quote_recovers_line_by_line(warehouse_url: str, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(_csv([HEADER, row(0), row(1, '"open'), row(2), row(3, '"open again'), row(4)]))
    import_file(warehouse_url, path, pepper=TEST_PEPPER)
    assert rows(warehouse_url, "SELECT external_id FROM raw.posts ORDER BY 1") == [
        ("csv-0",),
        ("csv-2",),
        ("csv-4",),
    ]
    assert rows(warehouse_url, "SELECT position FROM raw.rejected_records ORDER BY 1") == [
        ("q.csv:3",),
        ("q.csv:5",),
    ]


def test_unreadable_files_fail_their_run_and_the_pipeline_goes_on(
    warehouse_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "imports" / "posts"
    folder.mkdir(parents=True)
    (folder / "a_good.ndjson").write_bytes(ndjson(good_lines(0, 3)))
    (folder / "b_directory.ndjson").mkdir()
    (folder / "c_unreadable.ndjson").symlink_to("/proc/self/mem")  # EIO for every reader
    (folder / "d_fake.ndjson.gz").write_bytes(b"not gzip")
    (folder / "e_good.csv").write_bytes(_csv([HEADER, row(7), row(8)]))
    report = pipeline.ingest(warehouse_url, tmp_path / "imports", pepper=TEST_PEPPER)
    assert {name: r["status"] for name, r in report.items()} == {
        "a_good.ndjson": "succeeded",
        "b_directory.ndjson": "failed",
        "c_unreadable.ndjson": "failed",
        "d_fake.ndjson.gz": "succeeded",  # its content is bad: one rejection, not a failure
        "e_good.csv": "succeeded",
    }
    assert "IsADirectoryError" in report["b_directory.ndjson"]["error"]
    assert "OSError" in report["c_unreadable.ndjson"]["error"]
    assert scalar(warehouse_url, "SELECT count(*) FROM raw.posts") == 5
    runs = dict(rows(warehouse_url, "SELECT source, status FROM raw.import_runs"))
    assert runs == {
        "file:a_good.ndjson": "succeeded",
        "file:b_directory.ndjson": "failed",
        "file:c_unreadable.ndjson": "failed",
        "file:d_fake.ndjson.gz": "succeeded",
        "file:e_good.csv": "succeeded",
    }
    errors = dict(rows(warehouse_url, "SELECT source, error FROM raw.import_runs"))
    assert "Is a directory" in errors["file:b_directory.ndjson"]


def test_an_edit_of_hints_or_counts_only_updates_the_post(
    warehouse_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "edits.ndjson"
    path.write_bytes(ndjson(good_lines(0, 4)))
    import_file(warehouse_url, path, pepper=TEST_PEPPER)
    path.write_bytes(
        ndjson(
            [
                line(0, city_code="NL037C"),
                line(1, country_code="AT"),
                line(2, like_count=99),
                line(3),
            ]
        )
    )
    stats = import_file(warehouse_url, path, pepper=TEST_PEPPER)
    assert (stats.inserted, stats.updated, stats.unchanged) == (0, 3, 1)
    got = rows(
        warehouse_url,
        "SELECT external_id, city_hint, country_hint, payload->>'like_count', updated_at IS NULL "
        "FROM raw.posts ORDER BY 1",
    )
    assert got == [
        ("c-0", "NL037C", "DE", "0", False),
        ("c-1", "DE001C", "AT", "1", False),
        ("c-2", "DE001C", "DE", "99", False),
        ("c-3", "DE001C", "DE", "3", True),
    ]


@pytest.mark.timeout(300)
def test_import_killed_with_sigkill_is_marked_failed_by_the_next(
    warehouse_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.ndjson"
    path.write_bytes(ndjson(good_lines(0, 100_000)))
    script = (
        "import sys; from extractors.social.file_import import import_file; "
        "import_file(sys.argv[1], sys.argv[2], pepper=sys.argv[3], batch_size=2000, workers=1)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, warehouse_url, str(path), TEST_PEPPER], cwd=REPO_ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if scalar(warehouse_url, "SELECT count(*) FROM raw.posts") >= 4000:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
    assert process.returncode == -signal.SIGKILL, "the import ended before it was killed"
    assert rows(warehouse_url, "SELECT status FROM raw.import_runs") == [("running",)]
    stats = import_file(warehouse_url, path, pepper=TEST_PEPPER)
    runs = rows(warehouse_url, "SELECT status, error FROM raw.import_runs ORDER BY started_at")
    assert [s for s, _ in runs] == ["failed", "succeeded"]
    assert runs[0][1].startswith("interrupted")
    assert stats.inserted + stats.unchanged == 100_000
    assert scalar(warehouse_url, "SELECT count(*) FROM raw.posts") == 100_000
