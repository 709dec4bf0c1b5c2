"""Validation and normalisation of one post record, the same for every source.

Every connector and file mapping produces records in the import format (`docs/contracts.md`);
`normalise` turns one into a `Post` (identities redacted, text scrubbed, author pseudonymised,
payload allow-listed) or raises `InvalidRecord` with a reason that lands in
`raw.rejected_records`. This is the ingestion hot path: it avoids work it can prove useless
(see `extractors.social.redact`) because a million-post import runs it a million times.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple

import msgspec
import orjson

from core.privacy import external_key, keyed_hash
from extractors.social.redact import identity_pairs, pseudonym, redact_identities, scrub
from extractors.social.text import primary_language

MAX_TEXT_CHARS = 1_000_000  # a 1 MB post is still a post; beyond that it is not a post
CITY_CODE = re.compile(r"^[A-Z]{2}[0-9]{3}[A-Z][0-9]?$")  # Urban Audit, e.g. NL037C (Rotterdam)
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
# Extra fields that may be kept in raw.posts.payload; everything else is dropped at the door.
COUNT_FIELDS = ("like_count", "reply_count", "repost_count")
PAYLOAD_ALLOW_LIST = (*COUNT_FIELDS, "hashtags")
MAX_HASHTAGS = 100
MAX_HASHTAG_CHARS = 280
# The natural key's B-tree entries must stay under PostgreSQL's limit (about 2,700 bytes):
# longer values failed the whole batch. No platform's ids come near these.
MAX_EXTERNAL_ID_BYTES = 1000
MAX_SOURCE_BYTES = 200
# Counts are bigint-sized; larger "counts" are garbage (and beyond what jsonb readers cast).
MAX_COUNT = 2**63 - 1
# A number given where a string is expected is read as its digits, up to this many bits (a
# 5,000-digit integer would exceed Python's integer-to-text limit and stop the import).
MAX_NUMBER_BITS = 200
# Posts outside these years are not posts of the platforms we read; each month would also make
# a partition of raw.posts.
MIN_CREATED_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CREATED_AT = datetime(2100, 1, 1, tzinfo=UTC)
# Fields that carry who wrote a record: used for the pseudonym and for redaction, never kept.
AUTHOR_FIELDS = ("author_id", "author_handle", "author_name", "author_identities")


_sha256 = hashlib.sha256
_decode_any = msgspec.json.Decoder().decode
_DecodeError = msgspec.DecodeError


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
        if value.bit_length() > MAX_NUMBER_BITS:
            raise InvalidRecord(
                f"field '{field}' is a number too large ({value.bit_length()} bits)"
            )
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
        raise InvalidRecord(
            f"field 'created_at' is not an ISO 8601 timestamp: {value[:100]!r}"
        ) from exc
    if parsed.tzinfo is None:
        raise InvalidRecord(f"field 'created_at' has no time zone: {value[:100]!r}")
    try:
        parsed = parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is beyond datetime's range in UTC
        raise InvalidRecord(f"field 'created_at' out of range: {value[:100]!r}") from None
    if not MIN_CREATED_AT <= parsed < MAX_CREATED_AT:
        raise InvalidRecord(f"field 'created_at' out of range: {value[:100]!r}")
    return parsed


def _check_key_size(source: str, external_id: str) -> None:
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise InvalidRecord(f"field 'source' longer than {MAX_SOURCE_BYTES} bytes")
    size = len(external_id.encode())
    if size > MAX_EXTERNAL_ID_BYTES:
        raise InvalidRecord(
            f"field 'external_id' longer than {MAX_EXTERNAL_ID_BYTES} bytes ({size})"
        )


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
    if value is None:
        return None
    try:
        return _hint_of(value, field)
    except TypeError:  # unhashable (a list, an object): reported by the uncached path
        return _matching(_clean_str(value, field), _HINT_PATTERNS[field], field)


@lru_cache(maxsize=16_384, typed=True)
def _hints_of(lang: Any, city: Any, country: Any) -> tuple[str | None, str | None, str | None]:
    return _hint(lang, "lang"), _hint(city, "city_code"), _hint(country, "country_code")


def _hints(lang: Any, city: Any, country: Any) -> tuple[str | None, str | None, str | None]:
    """The three hints of a post, validated in this order (their combinations repeat too: one
    cache lookup per post instead of three)."""
    try:
        return _hints_of(lang, city, country)
    except TypeError:  # one of them unhashable
        return _hint(lang, "lang"), _hint(city, "city_code"), _hint(country, "country_code")


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


@lru_cache(maxsize=4096, typed=True)
def _source_platform_of(source: Any, platform: Any) -> tuple[str | None, str | None]:
    return _short_of(source, "source"), _short_of(platform, "platform")


def _source_platform(source: Any, platform: Any, default_source: str | None) -> tuple[str, str]:
    """A record's source (else `default_source`) and platform, validated in this order."""
    try:
        source, platform = _source_platform_of(source, platform)
    except TypeError:  # one of them unhashable: reported by the uncached path
        source, platform = _clean_short(source, "source"), _clean_short(platform, "platform")
    source = source or default_source
    if not source:
        raise InvalidRecord("missing field 'source'")
    if platform is None:
        raise InvalidRecord("missing field 'platform'")
    return source, platform


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise InvalidRecord(f"field '{field}' must be a count, got bool")
    if isinstance(value, int):
        count = value
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    elif isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 19:
        count = int(value)  # CSV exports carry every value as text
    else:
        shown = type(value).__name__ if isinstance(value, (list, dict)) else repr(value)[:50]
        raise InvalidRecord(f"field '{field}' must be a count, got {shown}")
    if count < 0:
        raise InvalidRecord(f"field '{field}' must not be negative")
    if count > MAX_COUNT:
        raise InvalidRecord(f"field '{field}' out of range")
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
            cleaned = cleaned.lstrip("#")
            # A tag that is an address, a mention or a profile link names someone: dropped.
            if cleaned and len(cleaned) <= MAX_HASHTAG_CHARS and scrub(cleaned) == cleaned:
                tags.append(cleaned)
    return tags


def _payload(counts: tuple[Any, Any, Any], tags: Any, names: tuple[Any, ...]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for field, value in zip(COUNT_FIELDS, counts, strict=True):
        if value is not None and value != "":
            payload[field] = _count(value, field)
    if tags:
        tags = _hashtags(tags)
        if names:  # a hashtag that is an account's name (a group's, say) names it too
            known = {low for _, low in identity_pairs(names)}
            tags = [t for t in tags if t.casefold() not in known]
        if tags:
            payload["hashtags"] = tags
    return payload


# What `normalise` reads of a record, in this order; every other field is dropped at the door.
IMPORT_FIELDS = (
    "source",
    "platform",
    "external_id",
    "text",
    "created_at",
    "author_id",
    "author_handle",
    "author_name",
    "author_identities",
    "lang",
    "city_code",
    "country_code",
    *COUNT_FIELDS,
    "hashtags",
)


class ImportRecord(msgspec.Struct, gc=False):
    """The fields of an import-format record that `normalise` reads (IMPORT_FIELDS, in order),
    as msgspec decodes them straight from JSON: other fields (the bulk of a platform's
    payload) are skipped unparsed and no dictionary is built. Values keep their JSON types
    (`Any`): validating them is `normalise`'s job, with its reasons. Not tracked by the garbage
    collector (it never holds a cycle)."""

    source: Any = None
    platform: Any = None
    external_id: Any = None
    text: Any = None
    created_at: Any = None
    author_id: Any = None
    author_handle: Any = None
    author_name: Any = None
    author_identities: Any = None
    lang: Any = None
    city_code: Any = None
    country_code: Any = None
    like_count: Any = None
    reply_count: Any = None
    repost_count: Any = None
    hashtags: Any = None


assert ImportRecord.__struct_fields__ == IMPORT_FIELDS
_fields_of = msgspec.structs.astuple
_decode_import = msgspec.json.Decoder(ImportRecord).decode


def decode_import_record(line: bytes) -> ImportRecord | None:
    """An NDJSON line of the import format as an `ImportRecord`, or None where it is not a JSON
    object that msgspec accepts (invalid JSON or UTF-8, another JSON type, a number out of
    range, ...): `decode_json` then decodes it and gives the standard reason."""
    try:
        if not line.isascii():
            # msgspec skips unknown fields without checking their UTF-8; the line must be
            # refused as a whole, as `decode_json` refuses it.
            line.decode("utf-8")
        return _decode_import(line)
    except (_DecodeError, UnicodeDecodeError, RecursionError):
        return None


def normalise(
    record: Any,
    *,
    pepper: str,
    default_source: str | None = None,
    identities: Iterable[str | None] = (),
) -> Post:
    """Validate one decoded record (a dict, or an `ImportRecord`) and turn it into a
    privacy-safe `Post`.

    `identities` are further strings that name people in this record (the accounts a post
    mentions, as the platform reports them); the record's own `author_handle`, `author_name` and
    `author_identities` are always redacted from the text too.
    """
    if type(record) is ImportRecord:
        fields = _fields_of(record)
    elif isinstance(record, dict):
        fields = tuple(map(record.get, IMPORT_FIELDS))
    else:
        raise InvalidRecord(f"record is a {type(record).__name__}, not an object")
    (
        source,
        platform,
        external_id,
        text,
        created_at,
        author,
        handle,
        name,
        more,
        lang,
        city,
        country,
        likes,
        replies,
        reposts,
        tags,
    ) = fields
    source, platform = _source_platform(source, platform, default_source)
    external_id = _clean_str(external_id, "external_id", required=True)
    assert external_id  # for the type checker: required=True
    external_id = external_key(external_id, pepper)
    if len(external_id) > MAX_EXTERNAL_ID_BYTES // 4 or len(source) > MAX_SOURCE_BYTES // 4:
        _check_key_size(source, external_id)
    # The common case inline (an ASCII string without NUL needs no check); the rest as fields.
    if type(text) is str and text.isascii() and "\x00" not in text:
        text = text.strip()
        if not text:
            raise InvalidRecord("missing field 'text'")
    else:
        text = _clean_str(text, "text", required=True)
    assert text  # for the type checker: required=True
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRecord(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    created_at = _parse_time(created_at)
    author = author or handle
    if author is not None:
        author = _clean_str(author, "author_handle")
    names: tuple[Any, ...] = ()
    if more is None and not identities:
        if handle or name:
            names = (handle, name)
            text = redact_identities(text, names)
    elif handle or name or more or identities:
        names = (handle, name, *(more if isinstance(more, list) else ()), *identities)
        text = redact_identities(text, names)
    text = scrub(text)
    lang, city, country = _hints(lang, city, country)
    return _new_post(
        (
            source,
            external_id,
            platform,
            created_at,
            pseudonym(platform, author, pepper) if author else None,
            text,
            lang,
            city,
            country,
            _payload((likes, replies, reposts), tags, names)
            if tags or likes is not None or replies is not None or reposts is not None
            else {},
            _sha256(text.encode()).hexdigest(),
        )
    )


# What a rejected record keeps: the import format's fields that carry no author, each scrubbed.
REJECTED_FIELDS = (
    "source",
    "platform",
    "external_id",
    "created_at",
    "lang",
    "city_code",
    "country_code",
    *COUNT_FIELDS,
    "hashtags",
    "text",
)
MAX_REJECTED_TEXT_CHARS = 100_000
MAX_REJECTED_VALUE_CHARS = 200


def _kept_string(value: str, names: tuple[Any, ...], limit: int) -> str:
    # Lone surrogates (invalid UTF-8 decoded with surrogateescape) cannot be stored.
    value = value[: 2 * limit].encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if names:
        value = redact_identities(value, names)
    return scrub(value)[:limit]


def _kept_value(field: str, value: Any, names: tuple[Any, ...], pepper: str) -> Any:
    """A rejected record's value as it may be stored: strings scrubbed and bounded, numbers
    within range, containers only by their type (their content is unvalidated)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 64 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        if field == "external_id":
            value = value.encode("utf-8", "replace").decode("utf-8")
            value = _kept_string(external_key(value, pepper), names, MAX_REJECTED_VALUE_CHARS)
            return value
        limit = MAX_REJECTED_TEXT_CHARS if field == "text" else MAX_REJECTED_VALUE_CHARS
        return _kept_string(value, names, limit)
    if field == "hashtags" and isinstance(value, list):
        return [
            _kept_string(v, names, MAX_REJECTED_VALUE_CHARS)
            if isinstance(v, str)
            else f"<{type(v).__name__}>"
            for v in value[:MAX_HASHTAGS]
        ]
    return f"<{type(value).__name__}>"


def record_names(record: Any, identities: Iterable[Any] = ()) -> tuple[Any, ...]:
    """The strings that name people in a record: its author fields and `identities`."""
    if type(record) is ImportRecord:
        record = {
            "author_handle": record.author_handle,
            "author_name": record.author_name,
            "author_identities": record.author_identities,
        }
    names: list[Any] = []
    if isinstance(record, dict):
        names = [record.get(k) for k in ("author_id", "author_handle", "author_name")]
        more = record.get("author_identities")
        names += more if isinstance(more, list) else ()
    names += identities
    return tuple(n for n in names if n and type(n) is str)


def rejected_fields(record: Any, pepper: str, identities: Iterable[Any] = ()) -> str:
    """What `raw.rejected_records.record` keeps of a rejected record that was decoded: a JSON
    object of its `REJECTED_FIELDS` (author fields never), strings redacted of the record's
    known identities and scrubbed, the id as stored for a post (`core.privacy.external_key`);
    `{}` for anything that is not an object."""
    if type(record) is ImportRecord:
        record = dict(zip(IMPORT_FIELDS, _fields_of(record), strict=True))
    if not isinstance(record, dict):
        return "{}"
    names = record_names(record, identities)
    kept = {
        field: _kept_value(field, record[field], names, pepper)
        for field in REJECTED_FIELDS
        if field in record
    }
    return json.dumps(kept, ensure_ascii=False)


def scrubbed_reason(reason: str, names: tuple[Any, ...] = ()) -> str:
    """A rejection's reason as stored: reasons quote values, so they are scrubbed like text."""
    return _kept_string(reason, names, 2000)


def rejection_digest(raw: bytes | str, pepper: str) -> str:
    """The hash a rejection is filed under (once per source, position and hash): keyed, so
    that it cannot confirm a guess of what the line said."""
    return keyed_hash(
        b"rejected:" + (raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw),
        pepper,
    )


def record_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def to_json(payload: dict[str, Any]) -> str:
    """Compact JSON of a payload (what `json.dumps` with `separators=(",", ":")` and
    `ensure_ascii=False` gives, by orjson: about ten times faster)."""
    try:
        return orjson.dumps(payload).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits (never from normalise)
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def decode_json(line: bytes) -> Any:
    """One JSON document (an NDJSON line), decoded by msgspec (about twice as fast as
    `json.loads`, and it reads integers of any size as `json.loads` does). What msgspec refuses
    goes through `json.loads`, so the accepted documents and the reasons of refusal stay the
    standard library's: `UnicodeDecodeError` for bytes that are not UTF-8,
    `json.JSONDecodeError` for invalid JSON, also for documents nested too deeply and for
    integers longer than Python converts (4,300 digits), which would otherwise raise errors
    that stop a whole file; NaN and escaped lone surrogates decode as there (validation then
    rejects such a record, naming the field)."""
    try:
        return _decode_any(line)
    except (_DecodeError, UnicodeDecodeError, RecursionError):
        pass
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise json.JSONDecodeError("number too long", "", 0) from None
