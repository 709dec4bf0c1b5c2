"""Privacy at ingestion (docs/privacy.md): pseudonymous authors, scrubbed text, keyed keys.

Every extractor calls these before a record is written anywhere, so the database, the logs and
every later stage only ever see the scrubbed text, a keyed pseudonym and natural keys that name
nobody.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

MENTION = "@user"

# Profile links of the platforms we read; the post itself stays, the way to its author goes.
# The platforms' domains in the bare forms (below) match ASCII letters only in either case, so
# that a profile link always contains one of `BARE_PROFILE_HINTS` once lower-cased.
_PLATFORM_PROFILE = (
    r"(?ai:www\.|old\.|mobile\.|m\.)?"
    r"(?:"
    r"(?ai:twitter|x|facebook|fb|instagram|tiktok|threads)\.(?ai:com|net)/"
    r"(?!(?ai:hashtag/|search|explore/|tags?/))@?[\w.]+"
    r"|(?ai:linkedin)\.(?ai:com)/(?ai:in|pub)/[\w%.-]+"
    r"|(?ai:youtube)\.(?ai:com)/(?:@|(?ai:c|user|channel)/)[\w.-]+"
    r"|(?ai:t|telegram)\.(?ai:me)/\w+"
    r"|(?ai:reddit)\.(?ai:com)/(?ai:u|user)/[\w-]+"
    r"|(?ai:bsky)\.(?ai:app)/(?ai:profile)/[\w.:-]+"
    r")"
)
_FEDI_PROFILE = r"[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}/@\w[\w.]*(?:@[\w-]+(?:\.[\w-]+)+)?"
_PROFILE_URL = re.compile(rf"https?://(?:{_PLATFORM_PROFILE}|{_FEDI_PROFILE})[^\s]*", re.IGNORECASE)
# The same without a scheme (`x.com/name`, `instance.social/@name`), not inside another word or
# address (`box.com/...` is not `x.com/...`).
_BARE_START = r"(?<![\w.@/:%+-])"
_BARE_PROFILE = re.compile(rf"{_BARE_START}{_PLATFORM_PROFILE}[^\s]*")
_BARE_FEDI_PROFILE = re.compile(rf"{_BARE_START}{_FEDI_PROFILE}[^\s]*")
# Every match of `_BARE_PROFILE` contains one of these in the lower-cased text.
BARE_PROFILE_HINTS = (".com/", ".net/", ".me/", "bsky.app/")
# Fediverse handles (@name@instance.tld) look like e-mails; they are mentions and go first.
_FEDI_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_][\w.-]*@[\w-]+(?:\.[\w-]+)+")
# Anchored at a token start: unanchored, a long run of word characters is retried from every
# position (quadratic: 8 kB took 0.5 s; a 1 MB post would take hours).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# Obfuscated addresses: `name [at] host [dot] org`, `name(at)host.org`, `name at host dot org`.
# "at" in brackets is always read as an address; a bare " at " only when the address ends in a
# spelled-out " dot " and a common top-level domain ("meet at home.nl" is not an address).
# "at" and "dot" are matched in lower, upper or title case only, so that every match contains
# a bracket or one of `OBFUSCATED_HINTS`.
_B_AT = r"\s*[\[({<]\s*(?:at|AT|At)\s*[\])}>]\s*"
_B_DOT = r"\s*[\[({<]\s*(?:dot|DOT|Dot)\s*[\])}>]\s*"
_S_DOT = r"\s+(?:dot|DOT|Dot)\s+"
_LOCAL = r"(?<![\w.+-])[\w.+-]+"
_TLDS = (
    "com|org|net|edu|gov|info|io|eu|social|online|me|co|de|nl|fr|it|es|be|at|ch|uk|pl|se|dk|"
    "no|fi|pt|ie|gr|cz|hu|ro|bg|hr|si|sk|lt|lv|ee|lu|mt|cy|tr|ua|us|ca|au"
)
_OBFUSCATED_EMAIL = re.compile(
    rf"{_LOCAL}{_B_AT}[\w-]+(?:(?:\.|{_B_DOT}|{_S_DOT})[\w-]+)*(?:\.|{_B_DOT}|{_S_DOT})"
    r"[A-Za-z]{2,}(?!\w)"
    rf"|{_LOCAL}\s+(?:at|AT|At)\s+[\w-]+(?:(?:\.|{_B_DOT}|{_S_DOT})[\w-]+)*(?:{_B_DOT}|{_S_DOT})"
    rf"(?:{_TLDS}|{_TLDS.upper()})(?!\w)"
)
OBFUSCATED_HINTS = ("[", "(", "{", "<", "dot", "DOT", "Dot")
# @name; not the middle of a word or an e-mail (handled before).
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_](?:[\w.-]*\w)?")
_REDDIT_USER = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# Candidates start like a phone number (+, 00, 0, or "(0") and are confirmed by their digit count,
# so dates, years and prices are left alone.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|\(0|0)[\d\s()./-]{7,22}\d(?!\w)")
_MIN_PHONE_DIGITS = 9


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if digits >= _MIN_PHONE_DIGITS else match.group(0)


def scrub_text(text: str) -> str:
    """Remove what identifies people in a post's text; keep what it says."""
    text = _PROFILE_URL.sub("[profile]", text)
    text = _BARE_PROFILE.sub("[profile]", text)
    text = _BARE_FEDI_PROFILE.sub("[profile]", text)
    text = _FEDI_MENTION.sub(MENTION, text)
    text = _EMAIL.sub("[email]", text)
    text = _OBFUSCATED_EMAIL.sub("[email]", text)
    text = _MENTION.sub(MENTION, text)
    text = _REDDIT_USER.sub(MENTION, text)
    text = _IBAN.sub("[iban]", text)
    return _PHONE_CANDIDATE.sub(_phone, text)


def pseudonymise(platform: str, author: str, pepper: str) -> str:
    """Keyed HMAC-SHA256 of a platform's author id: stable, not reversible without the pepper.

    Handles are case-insensitive on every platform we read, so they are folded first; the platform
    is part of the message so that equal handles on two platforms stay distinct people.
    """
    return keyed_hash(f"{platform.lower()}:{author.strip().lstrip('@').casefold()}", pepper)


def keyed_hash(message: str | bytes, pepper: str) -> str:
    """HMAC-SHA256 of `message` keyed with the pepper, 32 hex characters (128 bits)."""
    keyed = _keyed(pepper).copy()  # the key's HMAC state, prepared once per pepper
    keyed.update(message.encode() if isinstance(message, str) else message)
    return keyed.hexdigest()[:32]


@lru_cache(maxsize=4)
def _keyed(pepper: str) -> hmac.HMAC:
    return hmac.new(pepper.encode(), digestmod=hashlib.sha256)


def _plain_id(external_id: str) -> bool:
    """Whether an id lacks every character that a URI, a DID, a link, an e-mail address (also
    an obfuscated one: brackets or white space) or a mention needs: then no rule can match it
    (a chain of substring tests: a third of a regular expression's cost on the hot path)."""
    return (
        ":" not in external_id
        and "/" not in external_id
        and "@" not in external_id
        and "(" not in external_id
        and "[" not in external_id
        and "{" not in external_id
        and "<" not in external_id
        and " " not in external_id
        and external_id.isprintable()  # other white space is not printable
    )


def identifies_author(external_id: str) -> bool:
    """Whether a post's id names its author: an AT URI (`at://did:plc:.../app.bsky.feed.post/..`
    holds the author's DID or handle), any DID, or an id holding a profile link, an e-mail
    address or a mention (a status URL such as `https://host/@name/123`)."""
    if _plain_id(external_id):
        return False
    folded = external_id.lower()
    return folded.startswith("at://") or "did:" in folded or scrub_text(external_id) != external_id


def external_key(external_id: str, pepper: str) -> str:
    """The natural key stored for a post's original `external_id`: the id itself, or, where the
    id names its author (`identifies_author`), a keyed hash of it. Deterministic, so a re-read
    post finds its row; `monitor erase --post SOURCE:EXTERNAL_ID` maps the id it is given with
    this too. An AT URI is hashed as the Bluesky connector hashes it, so a Bluesky post has one
    key whether it came from the API or from a file."""
    if not identifies_author(external_id):
        return external_id
    if external_id.lower().startswith("at://"):
        return pseudonymise("bluesky-post", external_id, pepper)
    return keyed_hash(f"post-id:{external_id}", pepper)
