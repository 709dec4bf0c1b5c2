"""Streaming readers of post files: NDJSON, CSV and JSON arrays (X/Twitter `tweets.js`).

Each yields `(position, record)` one record at a time (bounded memory whatever the file size),
where a record that cannot even be decoded comes as a `Rejection` with its reason. `skip` jumps
over records already landed by an interrupted run without decoding them. No content stops a
file: a byte order mark is skipped, a CSV quote left open rejects its own line only (the lines
after it are read again), and a compressed file that is truncated or not gzip at all yields
what it held and then one rejection saying so.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from extractors.social.landing import Rejection
from extractors.social.records import MAX_TEXT_CHARS, decode_json

# A 1 MB post is a valid post; the csv module refuses fields over 128 KiB by default.
csv.field_size_limit(4 * MAX_TEXT_CHARS)
_CHUNK = 1 << 20
FORMATS = ("ndjson", "csv", "json")
BOM = b"\xef\xbb\xbf"


class _Gunzip(io.RawIOBase):
    """A gzip file's content, as `gzip.open` reads it (members concatenated), except that the
    end of a truncated or corrupt file is an ordinary end of data, every byte before it
    delivered, with the reason in `failure`: `gzip.open` raises instead, from wherever the
    reader happens to be, losing what it had decompressed of the last chunk."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._started = False
        self.failure: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self.failure is not None:
                return 0
            compressed = self._file.read(_CHUNK)
            if not compressed:
                if self._started and not self._inflate.eof:
                    self.failure = "truncated gzip file: it ends inside the compressed data"
                return 0
            self._started = True
            self._pending = self._inflated(compressed)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _inflated(self, compressed: bytes) -> bytes:
        """`compressed` decompressed, members in turn; where it is corrupt (a bad header, a
        checksum that does not match), what comes before the fault, found by feeding halves
        of the chunk to a copy of the decompressor, and `failure` set."""
        saved = self._inflate.copy()
        try:
            out = self._inflate.decompress(compressed)
            while self._inflate.eof and self._inflate.unused_data:
                rest = self._inflate.unused_data  # the next member
                self._inflate = zlib.decompressobj(wbits=31)
                out += self._inflate.decompress(rest)
            return out
        except zlib.error as exc:
            if len(compressed) <= 1:
                self.failure = f"unreadable gzip file: {exc}"
                return b""
        self._inflate = saved
        half = len(compressed) // 2
        out = self._inflated(compressed[:half])
        return out if self.failure else out + self._inflated(compressed[half:])

    def close(self) -> None:
        self._file.close()
        super().close()


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed for `.gz` (see `read_failure`)."""
    if path.suffix == ".gz":
        return io.BufferedReader(_Gunzip(path), buffer_size=_CHUNK)
    return path.open("rb")


def read_failure(stream: IO[bytes]) -> str | None:
    """Why a stream of `open_binary` ended before its file's end (a truncated or corrupt gzip
    file), or None once it has been read to its real end."""
    return getattr(getattr(stream, "raw", None), "failure", None)


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
    lineno = 0
    with open_binary(path) as raw:
        for lineno, line in enumerate(raw, start=1):
            if lineno == 1 and line.startswith(BOM):
                line = line[len(BOM) :]
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
        failure = read_failure(raw)
    if failure:
        seen += 1
        if seen > skip:
            position = f"{name}:{lineno + 1}"
            yield position, Rejection(position, failure, failure)


def _without_nul(lines: IO[str]) -> Iterator[str]:
    for line in lines:  # the csv module refuses NUL; NUL never carries meaning in a post
        yield line.replace("\x00", "") if "\x00" in line else line


def read_csv(path: Path, *, skip: int = 0, delimiter: str = ",") -> Iterator[tuple[str, Any]]:
    """Rows as dicts keyed by the header, each at the position of its first line. Undecodable
    bytes are kept as surrogates, so the record they are in is rejected as invalid UTF-8 (not
    the file).

    Quoting is parsed strictly. A record that spans lines (a quoted field with line breaks)
    lands when it parses cleanly into the header's fields; otherwise its first line is rejected
    alone - the quote it opened is taken as unbalanced - and the lines after it are parsed
    again, so one stray quote cannot swallow the rest of the file. A record on one line that
    strict parsing refuses for another reason (`a,"b"c`) is read leniently, as the csv module
    does by default."""
    name = path.name
    if name.removesuffix(".gz").lower().endswith(".tsv") and delimiter == ",":
        delimiter = "\t"
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        physical = enumerate(_without_nul(text), start=1)
        again: deque[tuple[int, str]] = deque()  # lines to parse again after a recovery
        taken: list[tuple[int, str]] = []  # the lines of the record being parsed
        last_line = 0

        def lines() -> Iterator[str]:
            nonlocal last_line
            while True:
                if again:
                    item = again.popleft()
                else:
                    item = next(physical, None)
                    if item is None:
                        return
                    last_line = item[0]
                taken.append(item)
                yield item[1]

        def strict_reader() -> Any:
            return csv.reader(lines(), delimiter=delimiter, strict=True)

        def lenient(line: str) -> list[str]:
            return next(csv.reader([line], delimiter=delimiter), [])

        reader = strict_reader()
        try:
            header = next(reader, None)
        except csv.Error:
            header = lenient(taken[0][1])
            again.extend(taken[1:])
            reader = strict_reader()
        index = 0
        while header is not None:
            taken.clear()
            error = reason = None
            try:
                row = next(reader, None)
            except csv.Error as exc:
                row, error = None, str(exc)
            if not taken:
                break
            lineno, first = taken[0]
            if len(taken) > 1 and (error is not None or len(row) != len(header)):
                # A quote left open on the first line swallowed the next ones: reject that
                # line alone and read the others again.
                again.extendleft(reversed(taken[1:]))
                reader = strict_reader()
                row = None
                reason = f"invalid CSV: unbalanced quote ({error or 'the record does not parse'})"
            elif error is not None:
                reader = strict_reader()  # start afresh after the refused line
                if first.count('"') % 2:
                    row, reason = None, f"invalid CSV: unbalanced quote ({error})"
                else:
                    row = lenient(first)
            if row == []:
                continue  # a blank line
            index += 1
            if index <= skip:
                continue
            position = f"{name}:{lineno}"
            if row is None:
                yield position, Rejection(position, reason, first)
            elif len(row) != len(header):
                reason = f"invalid CSV: {len(row)} fields, the header has {len(header)}"
                yield position, Rejection(position, reason, "".join(line for _, line in taken))
            else:
                yield position, dict(zip(header, row, strict=True))
        failure = read_failure(raw)
    if failure:
        index += 1
        if index > skip:
            position = f"{name}:{last_line + 1}"
            yield position, Rejection(position, failure, failure)


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
                failure = read_failure(raw)
                if (failure or buffer.strip()) and not skip:
                    position = f"{name}#0"
                    reason = failure or "invalid JSON: not an array"
                    yield position, Rejection(position, reason, buffer[:2000])
                return
            buffer += chunk
            if len(buffer) > _CHUNK and "[" not in buffer:
                buffer = buffer[-16:]  # the assignment before the array is short
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
                    position = f"{name}#{index}"
                    reason = read_failure(raw) or "invalid JSON: the array is not closed"
                    yield position, Rejection(position, reason, "")
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
                reason = read_failure(raw) or f"invalid JSON: {exc.msg}"
            except RecursionError:
                reason = "invalid JSON: nested too deeply"
            except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
                reason = "invalid JSON: number too long"
            else:
                reason = None
            if reason is not None:
                position = f"{name}#{index}"
                yield position, Rejection(position, reason, buffer[pos : pos + 2000])
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
