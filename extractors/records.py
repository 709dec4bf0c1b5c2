"""Validation and normalisation of one post record, the same for every source.

A record either becomes a `Post` (scrubbed, pseudonymised, allow-listed) or raises
`InvalidRecord` with a reason that lands in `raw.rejected_records`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.privacy import pseudonymise, scrub_text

MAX_TEXT_CHARS = 1_000_000  # a 1 MB post is still a post; beyond that it is not a post
CITY_CODE = re.compile(r"^[A-Z]{2}[0-9]{3}[A-Z][0-9]?$")  # Urban Audit, e.g. NL037C (Rotterdam)
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
# Extra fields that may be kept in raw.posts.payload; everything else is dropped at the door.
PAYLOAD_ALLOW_LIST = ("like_count", "reply_count", "repost_count", "hashtags")


class InvalidRecord(ValueError):
    """The record cannot be landed; the message is the reason stored with it."""


@dataclass(frozen=True)
class Post:
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


def _clean_str(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidRecord(f"missing field '{field}'")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRecord(f"field '{field}' must be a string, got {type(value).__name__}")
    # PostgreSQL text cannot hold NUL; it never carries meaning in a post.
    return str(value).replace("\x00", "").strip() or None


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise InvalidRecord("missing or non-string field 'created_at'")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRecord(f"field 'created_at' is not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidRecord(f"field 'created_at' has no time zone: {value!r}")
    return parsed.astimezone(UTC)


def _matching(value: str | None, pattern: re.Pattern[str], field: str) -> str | None:
    if value is not None and not pattern.match(value):
        raise InvalidRecord(f"field '{field}' has an invalid code: {value!r}")
    return value


def normalise(record: Any, *, pepper: str, default_source: str | None = None) -> Post:
    """Validate one decoded record and turn it into a privacy-safe `Post`."""
    if not isinstance(record, dict):
        raise InvalidRecord(f"record is a {type(record).__name__}, not an object")
    source = _clean_str(record.get("source"), "source") or default_source
    if not source:
        raise InvalidRecord("missing field 'source'")
    platform = _clean_str(record.get("platform"), "platform", required=True)
    external_id = _clean_str(record.get("external_id"), "external_id", required=True)
    text = _clean_str(record.get("text"), "text", required=True)
    assert platform and external_id and text  # for the type checker: required=True
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRecord(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    text = scrub_text(text)
    author = _clean_str(record.get("author_id") or record.get("author_handle"), "author_handle")
    lang = _clean_str(record.get("lang"), "lang")
    payload = {k: record[k] for k in PAYLOAD_ALLOW_LIST if record.get(k) is not None}
    return Post(
        source=source,
        external_id=external_id,
        platform=platform.lower(),
        created_at=_parse_time(record.get("created_at")),
        author_pseudonym=pseudonymise(platform, author, pepper) if author else None,
        text=text,
        lang_hint=_matching(lang.lower() if lang else None, LANG_CODE, "lang"),
        city_hint=_matching(
            _clean_str(record.get("city_code"), "city_code"), CITY_CODE, "city_code"
        ),
        country_hint=_matching(
            _clean_str(record.get("country_code"), "country_code"), COUNTRY_CODE, "country_code"
        ),
        payload=payload,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def scrubbed_record_text(raw: str | bytes, limit: int = 100_000) -> str:
    """What a rejected record is kept as: decoded leniently, NUL-free, scrubbed, bounded."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return scrub_text(raw.replace("\x00", ""))[:limit]


def record_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
