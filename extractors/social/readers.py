"""Streaming readers of post files: NDJSON, CSV and JSON arrays (X/Twitter `tweets.js`).

Each yields `(position, record)` one record at a time (bounded memory whatever the file size),
where a record that cannot even be decoded comes as a `Rejection` with its reason. `skip` jumps
over records already landed by an interrupted run without decoding them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from extractors.social.landing import Rejection
from extractors.social.records import MAX_TEXT_CHARS, decode_json

# A 1 MB post is a valid post; the csv module refuses fields over 128 KiB by default.
csv.field_size_limit(4 * MAX_TEXT_CHARS)
_CHUNK = 1 << 20
FORMATS = ("ndjson", "csv", "json")


def open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def detect_format(path: Path) -> str:
    """ndjson (.ndjson, .jsonl), csv (.csv, .tsv), json (.js: an X archive part; .json holding
    an array); `.gz` is read through."""
    name = path.name.removesuffix(".gz").lower()
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith(".js"):
        return "json"
    if name.endswith(".json"):
        with open_binary(path) as raw:
            head = raw.read(4096).lstrip()
        return "json" if head[:1] in (b"[", b"w") else "ndjson"
    return "ndjson"


def read_ndjson(path: Path, *, skip: int = 0) -> Iterator[tuple[str, Any]]:
    name = path.name
    seen = 0
    with open_binary(path) as raw:
        for lineno, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            seen += 1
            if seen <= skip:
                continue
            position = f"{name}:{lineno}"
            try:
                yield position, decode_json(line)
            except UnicodeDecodeError as exc:
                yield (
                    position,
                    Rejection(position, f"invalid UTF-8: {exc.reason}", line.rstrip(b"\r\n")),
                )
            except json.JSONDecodeError as exc:
                yield (
                    position,
                    Rejection(position, f"invalid JSON: {exc.msg}", line.rstrip(b"\r\n")),
                )


def _without_nul(lines: IO[str]) -> Iterator[str]:
    for line in lines:  # the csv module refuses NUL; NUL never carries meaning in a post
        yield line.replace("\x00", "") if "\x00" in line else line


def read_csv(path: Path, *, skip: int = 0, delimiter: str = ",") -> Iterator[tuple[str, Any]]:
    """Rows as dicts keyed by the header. Undecodable bytes are kept as surrogates, so the
    record they are in is rejected as invalid UTF-8 (not the file)."""
    name = path.name
    if name.removesuffix(".gz").lower().endswith(".tsv") and delimiter == ",":
        delimiter = "\t"
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(_without_nul(text), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        index = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                index += 1
                if index > skip:
                    position = f"{name}:{reader.line_num}"
                    yield position, Rejection(position, f"invalid CSV: {exc}", "")
                continue
            if not row:
                continue
            index += 1
            if index <= skip:
                continue
            position = f"{name}:{reader.line_num}"
            if len(row) != len(header):
                reason = f"invalid CSV: {len(row)} fields, the header has {len(header)}"
                yield position, Rejection(position, reason, delimiter.join(row))
                continue
            yield position, dict(zip(header, row, strict=True))


def read_json_array(path: Path, *, skip: int = 0) -> Iterator[tuple[str, Any]]:
    """The elements of a JSON array, decoded one at a time. An X archive part
    (`window.YTD.tweets.part0 = [...]`) is read past its assignment."""
    name = path.name
    decoder = json.JSONDecoder()
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape")
        buffer = ""
        while "[" not in buffer:
            chunk = text.read(_CHUNK)
            if not chunk:
                return
            buffer += chunk
        pos = buffer.index("[") + 1
        index = 0
        eof = False

        def more() -> None:
            nonlocal buffer, pos, eof
            chunk = text.read(_CHUNK)
            eof = not chunk
            buffer = buffer[pos:] + chunk  # drop what is decoded: the buffer stays ~1 MB
            pos = 0

        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(buffer):
                if eof:
                    return
                more()
                continue
            if buffer[pos] == "]":
                return
            try:
                value, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if not eof:  # an element longer than what is buffered: read on
                    more()
                    continue
                position = f"{name}#{index}"
                yield (
                    position,
                    Rejection(position, f"invalid JSON: {exc.msg}", buffer[pos : pos + 2000]),
                )
                return  # the rest of the array cannot be delimited
            if end >= len(buffer) and not eof:
                more()  # a number cut at the buffer's end would decode short: read on first
                continue
            index += 1
            if index > skip:
                yield f"{name}#{index - 1}", value
            pos = end


def read_records(
    path: Path, fmt: str = "auto", *, skip: int = 0, delimiter: str = ","
) -> Iterator[tuple[str, Any]]:
    """Yield (position, decoded record or Rejection) for every record of a post file."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "csv":
        return read_csv(path, skip=skip, delimiter=delimiter)
    if fmt == "json":
        return read_json_array(path, skip=skip)
    if fmt == "ndjson":
        return read_ndjson(path, skip=skip)
    raise ValueError(f"unknown file format {fmt!r} (one of {', '.join(FORMATS)})")
