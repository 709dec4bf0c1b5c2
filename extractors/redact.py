"""Privacy helpers on the ingestion hot path, built on `monitor.privacy` (the source of truth
for what is scrubbed and how authors are keyed).

- `scrub`: the rules of `monitor.privacy.scrub_text`, same patterns, same order, same
  replacements, with two differences that change cost, not results:
  * a rule runs only when its trigger is in the text ('@' for e-mails and mentions, 'http' for
    profile links, 'u/' for Reddit users, a digit for IBANs and phone numbers); no replacement
    introduces a trigger, so skipping is exact, and about 80 % of posts skip every rule;
  * the e-mail rule only starts where a run of address characters starts. `scrub_text`'s
    pattern also tries every position inside such a run, which is quadratic: a 1 MB token takes
    over an hour (8,000 characters already 0.3 s). Both find the same leftmost matches.
  At import, `scrub` is compared with `scrub_text` on a sample covering every rule and falls
  back to `scrub_text` if they differ (a new rule there); `tests/extractors/test_redact.py`
  compares them on every wire fixture, the demo corpus and adversarial texts.
- `pseudonym`: `monitor.privacy.pseudonymise` with a bounded cache (authors post many times).
- `redact_identities`: removes a post's *known* identities from its text: the author's handle and
  display name, and the accounts it mentions, as the platform reports them. Pattern rules cannot
  know that "Simon P. Couch" or "simonpcouch.com" name a person; the platform tells us.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

from monitor import privacy
from monitor.privacy import MENTION, pseudonymise, scrub_text

log = logging.getLogger(__name__)

_TRIGGER = re.compile(r"@|\d|[hH][tT][tT][pP]|u/")
_DIGIT = re.compile(r"\d")
_HTTP = re.compile("http", re.IGNORECASE)
# The same e-mail pattern, anchored at the start of a run of address characters: linear time.
_EMAIL = re.compile(r"(?<![\w.+-])" + privacy._EMAIL.pattern, privacy._EMAIL.flags)
# Identities shorter than this are initials or emoji fragments; redacting them would destroy
# ordinary words ("G.", "Al") without protecting anyone.
MIN_IDENTITY_CHARS = 3
_CUSTOM_EMOJI = re.compile(r":[\w+-]+:")  # Mastodon custom emoji shortcodes in display names
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
LINK = "[link]"


def _scrub(text: str) -> str:
    """`scrub_text`'s rules, each only where it can match (see the module docstring)."""
    if _TRIGGER.search(text) is None:
        return text
    has_digit = _DIGIT.search(text) is not None
    if _HTTP.search(text) is not None:
        text = privacy._PROFILE_URL.sub("[profile]", text)
    if "@" in text:
        text = privacy._FEDI_MENTION.sub(MENTION, text)
        text = _EMAIL.sub("[email]", text)
        text = privacy._MENTION.sub(MENTION, text)
    if "u/" in text:
        text = privacy._REDDIT_USER.sub(MENTION, text)
    if has_digit:
        text = privacy._IBAN.sub("[iban]", text)
        text = privacy._PHONE_CANDIDATE.sub(privacy._phone, text)
    return text


_SAMPLE = (
    "See https://x.com/someone and https://mastodon.social/@anna@mastodon.social, write to "
    "anna.k@example.org or @anna_k@demo.social, ask @bob_rdam and u/jan_rdam, pay "
    "NL91 ABNA 0417 1643 00, call +31 6 1234 5678 or 040-34 10 00 on 2026-03-01 (12 items)."
)


def _checked_scrub():
    if _scrub(_SAMPLE) == scrub_text(_SAMPLE):
        return _scrub
    log.warning("monitor.privacy.scrub_text changed: scrubbing with it directly (slower)")
    return scrub_text


# `scrub(text)`: the text scrubbed exactly as `monitor.privacy.scrub_text` would, in linear time.
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


def identity_forms(identities: Iterable[str | None]) -> list[str]:
    """The strings to look for: handles without '@' or 'u/', fediverse accounts with and
    without their instance, display names without custom emoji; longest first."""
    forms = {
        form for raw in identities if raw and isinstance(raw, str) for form, _ in _forms_of(raw)
    }
    return sorted(forms, key=len, reverse=True)


def redact_identities(text: str, identities: Iterable[str | None]) -> str:
    """Replace links that contain a known identity by `[link]` and the identity itself, as a
    whole token in any case, by `@user`."""
    folded: str | None = None
    present: list[tuple[str, str]] = []
    for raw in identities:
        if not raw or type(raw) is not str:
            continue
        for form, low in _forms_of(raw):
            if folded is None:
                folded = text.casefold()
            if low in folded:
                present.append((form, low))
    if not present:
        return text  # the common case: no regular expression work at all
    present.sort(key=lambda pair: len(pair[0]), reverse=True)
    lowered = [low for _, low in present]
    text = _URL.sub(
        lambda m: LINK if any(f in m.group(0).casefold() for f in lowered) else m.group(0), text
    )
    alternation = "|".join(re.escape(form) for form, _ in present)
    pattern = re.compile(rf"(?<![\w@])@?(?:{alternation})(?!\w)", re.IGNORECASE)
    return pattern.sub(MENTION, text)
