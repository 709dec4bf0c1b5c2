"""`python -m classifiers classify INPUT OUTPUT`: classify a file of posts outside the pipeline.

Input: NDJSON (`.ndjson`, `.jsonl`, `.json`) or CSV (`.csv`), optionally gzipped (`.gz`), with
`id`, `text` and optionally `lang` (a declared language, used as a prior), `city_hint` (or
`city_code`) and `country_hint` (or `country_code`) as source-level hints.
Output: NDJSON, one object per post in input order, with id, lang, areas, area_scores,
sentiment, sentiment_score, hate, hate_score, cities, keywords, model_version. It is written
to `<OUTPUT>.partial` and renamed at the end, so a crash never leaves a half file that looks
complete. Posts are read, classified and written in chunks (bounded memory on any file size);
progress goes to stderr every few seconds with the share of the input read and the rate.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from classifiers.bundle import Classifier, PostInput

PROGRESS_EVERY_S = 5.0


class InputError(ValueError):
    pass


def _open_binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(stream to read, raw file whose position measures progress)."""
    raw = path.open("rb")
    return (gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw), raw


def _kind(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    raise InputError(f"{path}: unknown format (use .csv or .ndjson/.jsonl, optionally .gz)")


def read_posts(path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """(record, bytes of the raw file read so far) per post; clear errors with line numbers."""
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    kind = _kind(path)
    stream, raw = _open_binary(path)
    with raw, stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        if kind == "csv":
            reader = csv.DictReader(text)
            if (
                not reader.fieldnames
                or "id" not in reader.fieldnames
                or "text" not in reader.fieldnames
            ):
                raise InputError(f"{path}: CSV needs columns id and text (got {reader.fieldnames})")
            for row in reader:
                yield row, raw.tell()
        else:
            for n, line in enumerate(text, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}: not JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}:{n}: expected a JSON object")
                yield record, raw.tell()


def _post(record: dict[str, Any], where: str) -> tuple[Any, PostInput]:
    if record.get("id") in (None, ""):
        raise InputError(f"{where}: record without an id")
    text = record.get("text")
    return record["id"], PostInput(
        text="" if text is None else str(text),
        lang_hint=(record.get("lang") or None),
        city_hint=(record.get("city_hint") or record.get("city_code") or None),
        country_hint=(record.get("country_hint") or record.get("country_code") or None),
    )


def classify_file(
    input_path: Path,
    output_path: Path,
    *,
    classifier: Classifier | None = None,
    batch_size: int = 2048,
    progress: bool = True,
) -> int:
    """Classify every post of `input_path` into `output_path` (NDJSON); return the count."""
    clf = classifier or Classifier()
    total = input_path.stat().st_size if input_path.exists() else 0
    to_stdout = str(output_path) == "-"
    partial = output_path.with_name(output_path.name + ".partial")
    out: IO[str] = sys.stdout if to_stdout else partial.open("w", encoding="utf-8")
    started = last = time.monotonic()
    done = 0
    try:
        chunk: list[tuple[Any, PostInput]] = []
        read = [0]  # bytes of the input read so far (progress)

        def flush() -> None:
            nonlocal done, last
            results = clf.classify([p for _, p in chunk])
            for (post_id, _), res in zip(chunk, results, strict=True):
                record = {"id": post_id, **res.to_json(), "model_version": clf.version}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            done += len(chunk)
            chunk.clear()
            now = time.monotonic()
            if progress and (now - last >= PROGRESS_EVERY_S or read[0] >= total):
                last = now
                share = f"{100 * read[0] / total:.0f} % of input, " if total else ""
                rate = done / max(now - started, 1e-9)
                print(f"classify: {done} posts ({share}{rate:.0f} posts/s)", file=sys.stderr)

        for n, (record, position) in enumerate(read_posts(input_path), 1):
            read[0] = position
            chunk.append(_post(record, f"{input_path}: record {n}"))
            if len(chunk) >= batch_size:
                flush()
        if chunk:
            flush()
    except BaseException:
        if not to_stdout:
            out.close()
            partial.unlink(missing_ok=True)
        raise
    if not to_stdout:
        out.close()
        partial.replace(output_path)
    return done
