"""Privacy at ingestion (docs/privacy.md): pseudonymous authors and scrubbed text.

Every extractor calls these before a record is written anywhere, so the database, the logs and
every later stage only ever see the scrubbed text and a keyed pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

MENTION = "@user"

# Profile links of the platforms we read; the post itself stays, the way to its author goes.
_PROFILE_URL = re.compile(
    r"https?://(?:www\.|old\.|mobile\.)?"
    r"(?:"
    r"(?:twitter|x|facebook|instagram|tiktok|threads)\.(?:com|net)/(?!hashtag/|search)@?[\w.]+"
    r"|reddit\.com/(?:u|user)/[\w-]+"
    r"|bsky\.app/profile/[\w.:-]+"
    r"|[\w.-]+\.[a-z]{2,}/@[\w.]+(?:@[\w.-]+)?"  # Mastodon and other fediverse profiles
    r")[^\s]*",
    re.IGNORECASE,
)
# Fediverse handles (@name@instance.tld) look like e-mails; they are mentions and go first.
_FEDI_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_][\w.-]*@[\w-]+(?:\.[\w-]+)+")
# Anchored at a token start: unanchored, a long run of word characters is retried from every
# position (quadratic: 8 kB took 0.5 s; a 1 MB post would take hours).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
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
    text = _FEDI_MENTION.sub(MENTION, text)
    text = _EMAIL.sub("[email]", text)
    text = _MENTION.sub(MENTION, text)
    text = _REDDIT_USER.sub(MENTION, text)
    text = _IBAN.sub("[iban]", text)
    return _PHONE_CANDIDATE.sub(_phone, text)


def pseudonymise(platform: str, author: str, pepper: str) -> str:
    """Keyed HMAC-SHA256 of a platform's author id: stable, not reversible without the pepper.

    Handles are case-insensitive on every platform we read, so they are folded first; the platform
    is part of the message so that equal handles on two platforms stay distinct people.
    """
    message = f"{platform.lower()}:{author.strip().lstrip('@').casefold()}".encode()
    keyed = _keyed(pepper).copy()  # the key's HMAC state, prepared once per pepper
    keyed.update(message)
    return keyed.hexdigest()[:32]


@lru_cache(maxsize=4)
def _keyed(pepper: str) -> hmac.HMAC:
    return hmac.new(pepper.encode(), digestmod=hashlib.sha256)
