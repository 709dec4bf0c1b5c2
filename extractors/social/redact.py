"""Privacy helpers on the ingestion hot path, built on `core.privacy` (the source of truth
for what is scrubbed and how authors are keyed).

- `scrub`: the rules of `core.privacy.scrub_text`, same patterns, same order, same
  replacements, but a rule runs only when its trigger is in the text: '://' for profile links,
  '/' and one of `core.privacy.BARE_PROFILE_HINTS` (lower-cased) for profile links without a
  scheme, '/@' for fediverse profiles without one, '@' for e-mails and mentions, a bracket or
  "dot" (`OBFUSCATED_HINTS`) for obfuscated e-mails, 'u/' for Reddit users, a digit for IBANs
  and phone numbers. Every rule's pattern contains its trigger and no replacement introduces
  the trigger of a later rule (each trigger is tested on the text as the earlier rules left
  it), so skipping is exact. Most posts contain no trigger at all, which one pass over the
  UTF-8 bytes tells (`bytes.translate` deleting the trigger bytes: several times faster than a
  regular-expression scan for a character class) followed by a search for "dot": no digit,
  '@', '/', bracket, and no byte from 0xD9 up, the first byte of every non-ASCII character
  that `\\d` matches (the first is U+0660 ARABIC-INDIC DIGIT ZERO).
  The rules stay separate passes: merged into one alternation they give other results where
  matches of two rules overlap - `x-@a.org@b.org` would become `[email]@b.org` (the e-mail
  rule claims the start first, leaving the instance) instead of `x-@user` - and they only run
  on the minority of posts that pass the byte scan.
  At import, `scrub` is compared with `scrub_text` on a sample covering every rule and falls
  back to `scrub_text` if they differ (a new rule there); `tests/extractors/social/test_redact.py`
  compares them on every wire fixture, the demo corpus and adversarial texts.
- `pseudonym`: `core.privacy.pseudonymise` with a bounded cache (authors post many times).
- `redact_identities`: removes a post's *known* identities from its text: the author's handle and
  display name, and the accounts it mentions, as the platform reports them. Pattern rules cannot
  know that "Simon P. Couch" or "simonpcouch.com" name a person; the platform tells us.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

from core import privacy
from core.privacy import MENTION, pseudonymise, scrub_text

log = logging.getLogger(__name__)

# Every rule needs a digit (IBAN, phone), '@' (e-mail, mentions), '/' ('://' of profile
# links, the '/' of bare ones, 'u/' of Reddit users) or a bracket or "dot" (obfuscated e-mails).
# As UTF-8: an ASCII digit, '@', '/', a bracket, or a non-ASCII character that may be a digit,
# whose first byte is 0xD9 or more (U+0660 and up; see the docstring).
_TRIGGER_BYTES = b"0123456789@/[({<" + bytes(range(0xD9, 0x100))
_DIGIT = re.compile(r"\d")
# Identities shorter than this are initials or emoji fragments; redacting them would destroy
# ordinary words ("G.", "Al") without protecting anyone.
MIN_IDENTITY_CHARS = 3
_CUSTOM_EMOJI = re.compile(r":[\w+-]+:")  # Mastodon custom emoji shortcodes in display names
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
LINK = "[link]"
_profile_sub = privacy._PROFILE_URL.sub
_bare_profile_sub = privacy._BARE_PROFILE.sub
_bare_fedi_sub = privacy._BARE_FEDI_PROFILE.sub
_fedi_sub = privacy._FEDI_MENTION.sub
_email_sub = privacy._EMAIL.sub
_obfuscated_sub = privacy._OBFUSCATED_EMAIL.sub
_mention_sub = privacy._MENTION.sub
_reddit_sub = privacy._REDDIT_USER.sub
_iban_sub = privacy._IBAN.sub
_phone_sub = privacy._PHONE_CANDIDATE.sub
_phone = privacy._phone
_BARE_HINTS = privacy.BARE_PROFILE_HINTS
_OBFUSCATED_HINTS = privacy.OBFUSCATED_HINTS


def _scrub(text: str) -> str:
    """`scrub_text`'s rules, each only where it can match (see the module docstring)."""
    data = text.encode("utf-8", "surrogatepass")
    if (
        len(data.translate(None, _TRIGGER_BYTES)) == len(data)
        and "dot" not in text
        and "DOT" not in text
        and "Dot" not in text
    ):
        return text  # no trigger at all: the common case
    has_digit = _DIGIT.search(text) is not None
    if "/" in text:
        if "://" in text:
            text = _profile_sub("[profile]", text)
        low = text.lower()
        if any(hint in low for hint in _BARE_HINTS):
            text = _bare_profile_sub("[profile]", text)
        if "/@" in text:
            text = _bare_fedi_sub("[profile]", text)
    if "@" in text:
        text = _fedi_sub(MENTION, text)
        text = _email_sub("[email]", text)
    if any(hint in text for hint in _OBFUSCATED_HINTS):
        text = _obfuscated_sub("[email]", text)
    if "@" in text:
        text = _mention_sub(MENTION, text)
    if "u/" in text:
        text = _reddit_sub(MENTION, text)
    if has_digit:
        text = _iban_sub("[iban]", text)
        text = _phone_sub(_phone, text)
    return text


_SAMPLE = (
    "See https://x.com/someone and https://mastodon.social/@anna@mastodon.social, write to "
    "anna.k@example.org or @anna_k@demo.social, ask @bob_rdam and u/jan_rdam, pay "
    "NL91 ABNA 0417 1643 00, call +31 6 1234 5678 or 040-34 10 00 on 2026-03-01 (12 items); "
    "see x.com/someone, t.me/someone, demo.social/@anna, write anna [at] example [dot] org or "
    "anna at example dot org."
)


def _checked_scrub():
    if _scrub(_SAMPLE) == scrub_text(_SAMPLE):
        return _scrub
    log.warning("core.privacy.scrub_text changed: scrubbing with it directly (slower)")
    return scrub_text


# `scrub(text)`: the text scrubbed exactly as `core.privacy.scrub_text` would.
scrub = _checked_scrub()


@lru_cache(maxsize=131_072)
def pseudonym(platform: str, author: str, pepper: str) -> str:
    """`pseudonymise(platform, author, pepper)`, cached."""
    return pseudonymise(platform, author, pepper)


@lru_cache(maxsize=131_072)
def _forms_of(raw: str) -> tuple[tuple[str, str], ...]:
    """The forms of one identity, each with its casefolded twin (cached: authors repeat)."""
    value = _CUSTOM_EMOJI.sub(" ", raw) if ":" in raw else raw
    if "  " in value or "\n" in value or "\t" in value:
        value = " ".join(value.split())
    value = value.strip()
    if value[:1] in ("@", "u", "/"):
        value = value.removeprefix("/u/").removeprefix("u/").lstrip("@")
    forms = [value]
    if "@" in value:  # user@instance: the bare user name identifies too
        forms.append(value.split("@", 1)[0])
    if value.endswith(".bsky.social"):  # Bluesky default handles: the name part
        forms.append(value[: -len(".bsky.social")])
    return tuple((f, f.casefold()) for f in forms if len(f) >= MIN_IDENTITY_CHARS)


def _pairs(identities: tuple[object, ...]) -> tuple[tuple[str, str], ...]:
    """Every (form, casefolded form) of `identities` (non-strings ignored), once each."""
    seen: dict[str, tuple[str, str]] = {}
    for raw in identities:
        if raw and type(raw) is str:
            for pair in _forms_of(raw):
                seen.setdefault(pair[0], pair)
    return tuple(seen.values())


_PAIRS: dict[tuple[object, ...], tuple[tuple[str, str], ...]] = {}
_PAIRS_MAX = 65_536


def identity_pairs(identities: Iterable[object]) -> tuple[tuple[str, str], ...]:
    """`_pairs`, cached by the whole set of names (a post's author names repeat together; a
    plain dict, emptied when full: cheaper per hit than `lru_cache`)."""
    key = identities if type(identities) is tuple else tuple(identities)
    try:
        pairs = _PAIRS.get(key)
    except TypeError:  # an unhashable value (a list where a name should be): not a name
        return _pairs(key)
    if pairs is None:
        if len(_PAIRS) >= _PAIRS_MAX:
            _PAIRS.clear()
        pairs = _PAIRS[key] = _pairs(key)
    return pairs


def identity_forms(identities: Iterable[str | None]) -> list[str]:
    """The strings to look for: handles without '@' or 'u/', fediverse accounts with and
    without their instance, display names without custom emoji; longest first."""
    return sorted({form for form, _ in identity_pairs(identities)}, key=len, reverse=True)


def redact_identities(text: str, identities: Iterable[object]) -> str:
    """Replace links that contain a known identity by `[link]` and the identity itself, as a
    whole token in any case, by `@user`."""
    pairs = identity_pairs(identities)
    if not pairs:
        return text
    folded = text.casefold()
    for pair in pairs:
        if pair[1] in folded:
            break
    else:
        return text  # the common case: no regular expression work at all
    present = [pair for pair in pairs if pair[1] in folded]
    present.sort(key=lambda pair: len(pair[0]), reverse=True)
    lowered = [low for _, low in present]
    text = _URL.sub(
        lambda m: LINK if any(f in m.group(0).casefold() for f in lowered) else m.group(0), text
    )
    alternation = "|".join(re.escape(form) for form, _ in present)
    pattern = re.compile(rf"(?<![\w@])@?(?:{alternation})(?!\w)", re.IGNORECASE)
    return pattern.sub(MENTION, text)
