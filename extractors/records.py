"""Validation and normalisation of one post record, the same for every source.

Every connector and file mapping produces records in the import format (`docs/contracts.md`);
`normalise` turns one into a `Post` (identities redacted, text scrubbed, author pseudonymised,
payload allow-listed) or raises `InvalidRecord` with a reason that lands in
`raw.rejected_records`. This is the ingestion hot path: it avoids work it can prove useless
(see `extractors.redact`) because a million-post import runs it a million times.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple

import orjson

from extractors.redact import identity_pairs, pseudonym, redact_identities, scrub
from extractors.text import primary_language

MAX_TEXT_CHARS = 1_000_000  # a 1 MB post is still a post; beyond that it is not a post
CITY_CODE = re.compile(r"^[A-Z]{2}[0-9]{3}[A-Z][0-9]?$")  # Urban Audit, e.g. NL037C (Rotterdam)
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
# Extra fields that may be kept in raw.posts.payload; everything else is dropped at the door.
COUNT_FIELDS = ("like_count", "reply_count", "repost_count")
PAYLOAD_ALLOW_LIST = (*COUNT_FIELDS, "hashtags")
MAX_HASHTAGS = 100
# Fields that carry who wrote a record: used for the pseudonym and for redaction, never kept.
AUTHOR_FIELDS = ("author_id", "author_handle", "author_name", "author_identities")


_sha256 = hashlib.sha256
_orjson_loads = orjson.loads
_OrjsonError = orjson.JSONDecodeError


class InvalidRecord(ValueError):
    """The record cannot be landed; the message is the reason stored with it."""


class Post(NamedTuple):
    """A normalised, privacy-safe post: exactly what `raw.posts` receives (a tuple: cheap to
    build a million times)."""

    source: str
    external_id: str
    platform: str
    created_at: datetime
    author_pseudonym: str | None
    text: str
    lang_hint: str | None
    city_hint: str | None
    country_hint: str | None
    payload: dict[str, Any]
    content_hash: str


_new_post = partial(tuple.__new__, Post)  # skips NamedTuple's Python-level __new__


def _clean_str(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidRecord(f"missing field '{field}'")
        return None
    if type(value) is not str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidRecord(f"field '{field}' must be a string, got {type(value).__name__}")
        value = str(value)
    elif not value.isascii():
        # Responses are decoded with surrogateescape so that one bad byte rejects one record,
        # not the page: a lone surrogate here is invalid UTF-8 on the wire.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRecord(f"invalid UTF-8 in field '{field}'") from None
    # PostgreSQL text cannot hold NUL; it never carries meaning in a post.
    if "\x00" in value:
        value = value.replace("\x00", "")
    value = value.strip()
    if not value:
        if required:  # only blanks: as missing (not an assertion error that stops the batch)
            raise InvalidRecord(f"missing field '{field}'")
        return None
    return value


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise InvalidRecord("missing or non-string field 'created_at'")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRecord(f"field 'created_at' is not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidRecord(f"field 'created_at' has no time zone: {value!r}")
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def _matching(value: str | None, pattern: re.Pattern[str], field: str) -> str | None:
    if value is not None and not pattern.match(value):
        raise InvalidRecord(f"field '{field}' has an invalid code: {value!r}")
    return value


_HINT_PATTERNS = {"lang": LANG_CODE, "city_code": CITY_CODE, "country_code": COUNTRY_CODE}


@lru_cache(maxsize=4096, typed=True)  # typed: True is not 1
def _hint_of(value: Any, field: str) -> str | None:
    cleaned = _clean_str(value, field)
    if cleaned is not None and field == "lang":
        cleaned = primary_language(cleaned) or None  # "en-GB" -> "en"; "und" is no language
    return _matching(cleaned, _HINT_PATTERNS[field], field)


def _hint(value: Any, field: str) -> str | None:
    """A validated language, city or country hint (few distinct values: cached)."""
    try:
        return _hint_of(value, field)
    except TypeError:  # unhashable (a list, an object): reported by the uncached path
        return _matching(_clean_str(value, field), _HINT_PATTERNS[field], field)


@lru_cache(maxsize=4096, typed=True)  # typed: True is not 1
def _short_of(value: Any, field: str) -> str | None:
    cleaned = _clean_str(value, field)
    return cleaned.lower() if cleaned is not None and field == "platform" else cleaned


def _clean_short(value: Any, field: str) -> str | None:
    """`_clean_str` of a source or platform (lower-cased): few distinct values, cached."""
    try:
        return _short_of(value, field)
    except TypeError:  # unhashable: reported by the uncached path
        return _clean_str(value, field)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise InvalidRecord(f"field '{field}' must be a count, got bool")
    if isinstance(value, int):
        count = value
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value)  # CSV exports carry every value as text
    else:
        raise InvalidRecord(f"field '{field}' must be a count, got {value!r}"[:200])
    if count < 0:
        raise InvalidRecord(f"field '{field}' must not be negative: {count}")
    return count


def _hashtags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")  # 4CAT and CSV exports join them with commas
    if not isinstance(value, list):
        raise InvalidRecord(f"field 'hashtags' must be a list, got {type(value).__name__}")
    tags = []
    for tag in value[:MAX_HASHTAGS]:
        cleaned = _clean_str(tag, "hashtags")
        if cleaned:
            tags.append(cleaned.lstrip("#"))
    return tags


def _payload(record: dict[str, Any], names: tuple[Any, ...]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for field in COUNT_FIELDS:
        value = record.get(field)
        if value is not None and value != "":
            payload[field] = _count(value, field)
    tags = record.get("hashtags")
    if tags:
        tags = _hashtags(tags)
        if names:  # a hashtag that is an account's name (a group's, say) names it too
            known = {low for _, low in identity_pairs(names)}
            tags = [t for t in tags if t.casefold() not in known]
        if tags:
            payload["hashtags"] = tags
    return payload


def normalise(
    record: Any,
    *,
    pepper: str,
    default_source: str | None = None,
    identities: Iterable[str | None] = (),
) -> Post:
    """Validate one decoded record and turn it into a privacy-safe `Post`.

    `identities` are further strings that name people in this record (the accounts a post
    mentions, as the platform reports them); the record's own `author_handle`, `author_name` and
    `author_identities` are always redacted from the text too.
    """
    if not isinstance(record, dict):
        raise InvalidRecord(f"record is a {type(record).__name__}, not an object")
    get = record.get
    source = _clean_short(get("source"), "source") or default_source
    if not source:
        raise InvalidRecord("missing field 'source'")
    platform = _clean_short(get("platform"), "platform")
    if platform is None:
        raise InvalidRecord("missing field 'platform'")
    external_id = _clean_str(get("external_id"), "external_id", required=True)
    text = get("text")
    # The common case inline (an ASCII string without NUL needs no check); the rest as fields.
    if type(text) is str and text.isascii() and "\x00" not in text:
        text = text.strip()
        if not text:
            raise InvalidRecord("missing field 'text'")
    else:
        text = _clean_str(text, "text", required=True)
    assert external_id and text  # for the type checker: required=True
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRecord(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    created_at = _parse_time(get("created_at"))
    handle = get("author_handle")
    author = get("author_id") or handle
    if author is not None:
        author = _clean_str(author, "author_handle")
    name = get("author_name")
    more = get("author_identities")
    names: tuple[Any, ...] = ()
    if more is None and not identities:
        if handle or name:
            names = (handle, name)
            text = redact_identities(text, names)
    elif handle or name or more or identities:
        names = (handle, name, *(more if isinstance(more, list) else ()), *identities)
        text = redact_identities(text, names)
    text = scrub(text)
    lang = get("lang")
    city = get("city_code")
    country = get("country_code")
    return _new_post(
        (
            source,
            external_id,
            platform,
            created_at,
            pseudonym(platform, author, pepper) if author else None,
            text,
            None if lang is None else _hint(lang, "lang"),
            None if city is None else _hint(city, "city_code"),
            None if country is None else _hint(country, "country_code"),
            _payload(record, names),
            _sha256(text.encode()).hexdigest(),
        )
    )


def redacted_record(record: Any, identities: Iterable[str | None] = ()) -> str:
    """What a rejected record is kept as when it was decoded: its fields without the author
    fields, with known identities redacted and the text scrubbed (see `scrubbed_record_text`)."""
    if isinstance(record, dict):
        names = [record.get(k) for k in ("author_handle", "author_name")]
        more = record.get("author_identities")
        names += [*(more if isinstance(more, list) else ()), *identities]
        kept = {k: v for k, v in record.items() if k not in AUTHOR_FIELDS}
        raw = json.dumps(kept, ensure_ascii=False, default=str)
        return scrubbed_record_text(redact_identities(raw, names))
    return scrubbed_record_text(json.dumps(record, ensure_ascii=False, default=str))


def scrubbed_record_text(raw: str | bytes, limit: int = 100_000) -> str:
    """What a rejected record is kept as: decoded leniently, NUL-free, scrubbed, bounded."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    # Lone surrogates (invalid UTF-8 decoded with surrogateescape) cannot be stored either.
    raw = raw[: 2 * limit].encode("utf-8", errors="replace").decode("utf-8")
    return scrub(raw.replace("\x00", ""))[:limit]


def record_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def to_json(payload: dict[str, Any]) -> str:
    """Compact JSON of a payload (what `json.dumps` with `separators=(",", ":")` and
    `ensure_ascii=False` gives, by orjson: about ten times faster)."""
    try:
        return orjson.dumps(payload).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def decode_json(line: bytes) -> Any:
    """One JSON document (an NDJSON line), decoded by orjson (about four times faster than
    `json.loads`). What orjson refuses goes through `json.loads`, so the accepted documents and
    the reasons of refusal stay the standard library's: `UnicodeDecodeError` for bytes that are
    not UTF-8, `json.JSONDecodeError` for invalid JSON; NaN and escaped lone surrogates decode
    as there (validation then rejects such a record, naming the field). One difference: orjson
    reads an integer literal beyond 64 bits as a float, so such an id is rejected as not a
    string and such a count kept approximately (platforms send ids that long as strings)."""
    try:
        return _orjson_loads(line)
    except _OrjsonError:
        return json.loads(line.decode("utf-8"))
