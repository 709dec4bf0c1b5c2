"""Declared column mappings: how the fields of a foreign export become the import format.

A mapping names, for each import field, where its value comes from in a record:

    external_id: id                              # a column, or a dotted path in JSON
    created_at: {from: timestamp, parse: "%Y-%m-%d %H:%M:%S"}   # strptime format, UTC
    text: {from: [subject, body], join: "\\n\\n"}  # several fields joined (empty ones skipped)
    lang: [lang, language]                       # alternatives: the first non-empty wins
    hashtags: tweet.entities.hashtags[].text     # `[]` maps over a list
    platform: {value: telegram}                  # a constant

`parse` is `iso` (default for created_at), `epoch`, `epoch_ms`, `twitter` (`Wed Oct 10 20:19:24
+0000 2018`) or a strptime format (read as UTC unless it has `%z`). A CSV column whose name
contains dots is found by its whole name first. Presets cover common exports: `import` (the
project's own format), `4cat` (4CAT CSV exports) and `x_archive` (`tweets.js` of an X/Twitter
account archive).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from extractors.social.text import from_epoch

TARGETS = (
    "external_id",
    "created_at",
    "text",
    "author_id",
    "author_handle",
    "author_name",
    "author_identities",
    "lang",
    "city_code",
    "country_code",
    "like_count",
    "reply_count",
    "repost_count",
    "hashtags",
    "platform",
)
LIST_TARGETS = frozenset({"author_identities", "hashtags"})  # collect every value found
REQUIRED = ("external_id", "created_at", "text")

PRESETS: dict[str, dict[str, Any] | None] = {
    "import": None,  # records are already in the import format
    # 4CAT's CSV exports: every data source maps its items to these columns.
    "4cat": {
        "external_id": "id",
        "created_at": [
            {"from": "unix_timestamp", "parse": "epoch"},
            {"from": "timestamp", "parse": "%Y-%m-%d %H:%M:%S"},
        ],
        "text": {"from": ["subject", "body"], "join": "\n\n"},
        "author_handle": "author",
        "author_name": ["author_fullname", "author_name"],
        "lang": ["lang", "language"],
        "like_count": ["num_likes", "likes"],
        "reply_count": ["num_comments", "num_replies"],
        "repost_count": ["num_shares", "num_reposts"],
        "hashtags": "hashtags",
    },
    # `data/tweets.js` of an X/Twitter account archive: [{"tweet": {...}}, ...].
    "x_archive": {
        "external_id": ["tweet.id_str", "tweet.id"],
        "created_at": {"from": "tweet.created_at", "parse": "twitter"},
        "text": ["tweet.full_text", "tweet.text"],
        "lang": "tweet.lang",
        "like_count": "tweet.favorite_count",
        "repost_count": "tweet.retweet_count",
        "hashtags": "tweet.entities.hashtags[].text",
        "author_identities": [
            "tweet.entities.user_mentions[].screen_name",
            "tweet.entities.user_mentions[].name",
        ],
        "platform": {"value": "x"},
    },
}

Getter = Callable[[dict[str, Any]], Any]


class MappingError(ValueError):
    """The declared mapping itself is wrong (reported with the config field)."""


def _path_getter(path: str) -> Getter:
    if not isinstance(path, str) or not path:
        raise MappingError(f"a field path must be a non-empty string, got {path!r}")
    parts = path.split(".")

    def walk(value: Any, rest: list[str]) -> Any:
        for i, part in enumerate(rest):
            if part.endswith("[]"):
                value = value.get(part[:-2]) if isinstance(value, dict) else None
                if not isinstance(value, list):
                    return None
                found = [walk(v, rest[i + 1 :]) for v in value]
                return [v for v in found if v not in (None, "")]
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def get(record: dict[str, Any]) -> Any:
        if path in record:  # a column literally named with dots
            return record[path]
        return walk(record, parts)

    return get


def _parser(parse: str | None) -> Callable[[Any], Any]:
    if parse in (None, "iso"):
        return lambda v: v
    if parse == "epoch":
        return from_epoch
    if parse == "epoch_ms":
        return lambda v: from_epoch(float(v) / 1000) if _is_number(v) else None
    fmt = "%a %b %d %H:%M:%S %z %Y" if parse == "twitter" else parse
    if "%" not in fmt:
        raise MappingError(
            f"unknown parse {parse!r} (iso, epoch, epoch_ms, twitter or a strptime format)"
        )

    def parse_time(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # normalise reports the type
        try:
            moment = datetime.strptime(value.strip(), fmt)
        except ValueError:
            return value  # normalise reports it as not ISO 8601, with the value
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()

    return parse_time


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _rule(target: str, spec: Any) -> Getter:
    """Compile one target's spec into a function of the record."""
    if isinstance(spec, list):
        getters = [_rule(target, s) for s in spec]
        if target in LIST_TARGETS:

            def collect(record: dict[str, Any]) -> Any:
                out: list[Any] = []
                for get in getters:
                    value = get(record)
                    if isinstance(value, list):
                        out += value
                    elif not _empty(value):
                        out.append(value)
                return out or None

            return collect

        def first(record: dict[str, Any]) -> Any:
            for get in getters:
                value = get(record)
                if not _empty(value):
                    return value
            return None

        return first
    if isinstance(spec, str):
        return _path_getter(spec)
    if isinstance(spec, dict):
        unknown = set(spec) - {"from", "parse", "join", "value"}
        if unknown:
            raise MappingError(f"unknown key(s) {sorted(unknown)} (from, parse, join, value)")
        if "value" in spec:
            constant = spec["value"]
            return lambda record: constant
        if "from" not in spec:
            raise MappingError("give 'from' (a field or a list of fields) or 'value'")
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        getters = [_path_getter(s) for s in sources]
        convert = _parser(spec.get("parse"))
        join = spec.get("join")
        if join is not None:
            if not isinstance(join, str):
                raise MappingError("'join' must be a string")

            def joined(record: dict[str, Any]) -> Any:
                parts = [g(record) for g in getters]
                text = [str(p).strip() for p in parts if not _empty(p) and str(p).strip()]
                return join.join(text) if text else None

            return joined

        def converted(record: dict[str, Any]) -> Any:
            for get in getters:
                value = get(record)
                if not _empty(value):
                    return convert(value)
            return None

        return converted
    raise MappingError(f"expected a field name, a list or a mapping, got {type(spec).__name__}")


class Mapping:
    """A compiled mapping; `apply(record)` returns the import-format fields it finds."""

    def __init__(self, spec: dict[str, Any], *, name: str = "declared") -> None:
        if not isinstance(spec, dict):
            raise MappingError(f"a mapping is a table of import fields, got {type(spec).__name__}")
        unknown = set(spec) - set(TARGETS)
        if unknown:
            raise MappingError(
                f"unknown import field(s) {sorted(unknown)}; known: {', '.join(TARGETS)}"
            )
        missing = [t for t in REQUIRED if t not in spec]
        if missing:
            raise MappingError(f"no source for required field(s) {missing}")
        self.name = name
        self._rules: list[tuple[str, Getter]] = []
        for target, rule in spec.items():
            try:
                self._rules.append((target, _rule(target, rule)))
            except MappingError as exc:
                raise MappingError(f"{target}: {exc}") from None
        self.constant_platform = (
            spec["platform"]["value"]
            if isinstance(spec.get("platform"), dict) and "value" in spec["platform"]
            else None
        )

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for target, get in self._rules:
            value = get(record)
            if not _empty(value):
                out[target] = value
        return out


def mapping_for(spec: str | dict[str, Any]) -> Mapping | None:
    """A preset by name (None for `import`: no mapping needed) or a declared mapping."""
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise MappingError(f"unknown preset {spec!r} (presets: {', '.join(PRESETS)})")
        preset = PRESETS[spec]
        return None if preset is None else Mapping(preset, name=spec)
    return Mapping(spec)
