"""Validation of import records: every bad record gets a reason, good ones come out private."""

import json

import pytest

from extractors.social.records import (
    ImportRecord,
    InvalidRecord,
    decode_import_record,
    decode_json,
    normalise,
    to_json,
)

PEPPER = "unit-test-pepper-0123456789"
GOOD = {
    "source": "demo_reddit_rotterdam",
    "platform": "Reddit",
    "external_id": 12345,
    "created_at": "2026-08-01T12:34:56+02:00",
    "author_handle": "u/jan_rdam",
    "author_name": "Jan de Vries",
    "text": "Nieuwe taalcursus\x00 in Rotterdam, mail info@voorbeeld.nl",
    "lang": "NL",
    "city_code": "NL037C",
    "country_code": "NL",
    "like_count": 3,
    "labels": {"areas": ["language"]},
}


def test_good_record_is_normalised_and_private() -> None:
    post = normalise(GOOD, pepper=PEPPER)
    assert post.external_id == "12345"
    assert post.platform == "reddit"
    assert post.created_at.isoformat() == "2026-08-01T10:34:56+00:00"
    assert post.text == "Nieuwe taalcursus in Rotterdam, mail [email]"
    assert post.lang_hint == "nl" and post.city_hint == "NL037C"
    assert post.payload == {"like_count": 3}  # allow-list: labels and names are dropped
    assert post.author_pseudonym and "jan" not in post.author_pseudonym
    assert "Jan de Vries" not in repr(post)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"text": ""}, "missing field 'text'"),
        ({"text": None}, "missing field 'text'"),
        ({"external_id": None}, "missing field 'external_id'"),
        ({"created_at": "yesterday"}, "not an ISO 8601"),
        ({"created_at": "2026-08-01T12:00:00"}, "no time zone"),
        ({"created_at": 1754000000}, "non-string field 'created_at'"),
        ({"city_code": "Rotterdam"}, "invalid code"),
        ({"text": ["a", "list"]}, "must be a string"),
        ({"text": "x" * 1_000_001}, "longer than"),
        ({"source": None}, "missing field 'source'"),
    ],
)
def test_bad_records_say_why(change: dict, reason: str) -> None:
    with pytest.raises(InvalidRecord, match=reason):
        normalise({**GOOD, **change}, pepper=PEPPER)


def test_a_1mb_post_with_emoji_and_rtl_is_kept() -> None:
    text = ("مرحبا بكم في مالمو 🙂 שלום " * 40_000)[:999_000]
    post = normalise({**GOOD, "text": text}, pepper=PEPPER)
    assert post.text == text.strip()


def test_hints_counts_and_hashtags_are_normalised() -> None:
    post = normalise(
        {
            **GOOD,
            "lang": "nl-BE",
            "like_count": "7",
            "reply_count": 2.0,
            "hashtags": "#inburgering, rotterdam",
        },
        pepper=PEPPER,
    )
    assert post.lang_hint == "nl"
    assert post.payload == {
        "like_count": 7,
        "reply_count": 2,
        "hashtags": ["inburgering", "rotterdam"],
    }
    assert normalise({**GOOD, "lang": "und"}, pepper=PEPPER).lang_hint is None


def test_known_identities_are_redacted_and_bad_bytes_rejected() -> None:
    post = normalise(
        {
            **GOOD,
            "text": "Jan de Vries (jan_rdam) zegt: kom naar de taalcursus #jan_rdam",
            "hashtags": ["jan_rdam", "taal"],
        },
        pepper=PEPPER,
    )
    assert post.text == "@user (@user) zegt: kom naar de taalcursus #@user"
    assert post.payload["hashtags"] == ["taal"]  # a hashtag that is the author's handle goes too
    with pytest.raises(InvalidRecord, match="invalid UTF-8 in field 'text'"):
        normalise({**GOOD, "text": "kapot \udcff"}, pepper=PEPPER)
    with pytest.raises(InvalidRecord, match="must not be negative"):
        normalise({**GOOD, "like_count": -1}, pepper=PEPPER)


@pytest.mark.parametrize("text", ["   ", "\u00a0\u3000 \n"])
def test_blank_text_is_rejected_not_a_crash(text: str) -> None:
    with pytest.raises(InvalidRecord, match="missing field 'text'"):
        normalise({**GOOD, "text": text}, pepper=PEPPER)


def test_cached_fields_tell_true_from_one() -> None:
    assert normalise({**GOOD, "source": 1}, pepper=PEPPER).source == "1"
    with pytest.raises(InvalidRecord, match="must be a string, got bool"):
        normalise({**GOOD, "source": True}, pepper=PEPPER)


@pytest.mark.parametrize(
    "line",
    [
        b'{"text": "caf\\u00e9 \\ud83d\\ude00", "n": 1, "x": [1.5, null, true]}',
        b'{"a": 1}\r',
        b'{"a": 1, "a": 2}',
        b'{"lone": "\\ud800"}',  # orjson refuses it; json.loads keeps the surrogate
        b'{"n": NaN}',
        b'{"id": 123456789012345678901234567890}',  # an integer beyond 64 bits stays one
    ],
)
def test_decode_json_accepts_what_json_loads_accepts(line: bytes) -> None:
    decoded = decode_json(line)
    expected = json.loads(line.decode())
    assert repr(decoded) == repr(expected)  # repr: NaN != NaN


@pytest.mark.parametrize(
    ("line", "error"),
    [(b'{"a": "x\xff"}', UnicodeDecodeError), (b'{"a": ', json.JSONDecodeError)],
)
def test_decode_json_refuses_with_the_standard_reasons(line: bytes, error: type) -> None:
    with pytest.raises(error):
        decode_json(line)


def test_payload_json_is_compact_utf8() -> None:
    assert to_json({"like_count": 3, "hashtags": ["café", 'a"b\\c']}) == (
        '{"like_count":3,"hashtags":["café","a\\"b\\\\c"]}'
    )
    assert to_json({"like_count": 2**70}) == '{"like_count":1180591620717411303424}'


# Records the worker processes decode straight into `ImportRecord`: every outcome (a post, or
# the reason of refusal) must be the one the serial path gives for the same line as a dict.
STRUCT_CASES = [
    GOOD,
    {**GOOD, "hashtags": ["jan_rdam", "taal"], "reply_count": "2", "extra": {"deep": [1]}},
    {**GOOD, "author_identities": ["Piet Jansen"], "text": "Piet Jansen belde"},
    {**GOOD, "source": True},
    {**GOOD, "platform": ["x"]},
    {**GOOD, "lang": ["nl"]},
    {**GOOD, "city_code": "Rotterdam"},
    {**GOOD, "like_count": True},
    {**GOOD, "external_id": 123456789012345678901234567890},
    {k: v for k, v in GOOD.items() if k != "platform"},
    {"text": "only text"},
]


@pytest.mark.parametrize("record", STRUCT_CASES)
def test_import_record_path_gives_what_the_dict_path_gives(record: dict) -> None:
    line = json.dumps(record).encode()
    struct = decode_import_record(line)
    assert type(struct) is ImportRecord
    outcomes = []
    for decoded in (struct, decode_json(line)):
        try:
            outcomes.append(normalise(decoded, pepper=PEPPER, default_source="fallback"))
        except InvalidRecord as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    "line",
    [
        b"[1, 2]",
        b'"text"',
        b'{"a": ',
        b'{"text": "x\xff"}',
        # bad UTF-8 in a field the import format does not read (msgspec would skip it unread)
        b'{"text": "ok", "url": "\xc0\x80"}',
        b'{"text": "ok", "url": "\xed\xa0\x80"}',
        b"NaN",
    ],
)
def test_lines_that_are_not_import_objects_go_to_the_standard_decoder(line: bytes) -> None:
    assert decode_import_record(line) is None


def test_ids_that_name_their_author_are_stored_keyed() -> None:
    from core.privacy import external_key
    from extractors.social.connectors.bluesky import post_key

    uri = "at://did:plc:abc123/app.bsky.feed.post/3kxyz"
    for original in (uri, "https://mastodon.social/@anna/1", "x.com/anna/status/2", "did:web:a"):
        stored = normalise({**GOOD, "external_id": original}, pepper=PEPPER).external_id
        assert stored == external_key(original, PEPPER) != original
        assert len(stored) == 32 and stored == external_key(original, PEPPER)  # deterministic
        assert stored != external_key(original, PEPPER + "x")
    # The same key as the Bluesky connector gives, so both paths upsert one post.
    assert external_key(uri, PEPPER) == post_key(uri, PEPPER)
    for plain in ("12345", "t3_abc", "m-000123", "https://news.example/article/1", "sha256:ab"):
        assert normalise({**GOOD, "external_id": plain}, pepper=PEPPER).external_id == plain


def test_hashtags_that_name_someone_are_dropped() -> None:
    tags = ["Wien", "anna@example.org", "@anna_k", "x.com/anna", "a [at] b [dot] org", "#ok"]
    post = normalise({**GOOD, "hashtags": tags}, pepper=PEPPER)
    assert post.payload["hashtags"] == ["Wien", "ok"]
