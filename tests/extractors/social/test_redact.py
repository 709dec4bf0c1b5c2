"""The hot-path privacy helpers give exactly what `core.privacy` gives, faster; known
identities are redacted from text."""

from __future__ import annotations

import itertools
import re
import sys
import time
from pathlib import Path

import pytest

from core.privacy import pseudonymise, scrub_text
from demo.generate import iter_posts
from extractors.social.redact import identity_forms, pseudonym, redact_identities, scrub
from tests.extractors.social.fakes import load
from tests.extractors.social.replay import _walk

ADVERSARIAL = [
    "",
    "plain words only, no triggers at all",
    "Mail a.b+c@sub.example.co.uk, then @anna_k@demo.social and @bob.",
    "HTTPS://WWW.TWITTER.COM/SomeOne/status/1 and Http://reddit.com/u/x_y",
    "u/abc /u/defg ru/not a user, but u/ab too short",
    "IBAN DE89 3704 0044 0532 0130 00, tel. 0049 (0)30 1234567, 2026-03-01, 12:30, 5,000 €",
    "@ alone, @@double, email@, @end.",
    "x" * 5000 + "@example.org",
    "mixed: https://mastodon.social/@user@mastodon.social then 0612345678",
    "مرحبا @مستخدم 🙂 שלום @user_1 — 電話 +81 3-1234-5678",
    "ending with a dot a@b.cd. and (0)6 12 34 56 78!",
    "رقم الهاتف ٠٦١٢٣٤٥٦٧٨ و +٣١ ٦ ١٢٣٤ ٥٦٧٨",  # Arabic-Indic digits are digits to \d
    "फ़ोन ०६१२३४५६७८, IBAN NL91 ABNA 0417 1643 00 — ０６１２３４５６７８",
    "only emoji and accents 🙂 café Ελλάδα ⁰¹²³ ½",
    # Profile links without a scheme, in odd cases and next to other words and links.
    "see Twitter.COM/Anna, WWW.x.com/bob/status/1, m.facebook.com/c.d and instagram.com/e_f",
    "bsky.app/profile/a.bsky.social t.me/chan telegram.me/x linkedin.com/in/a-b youtube.com/@yt",
    "tiktok.com/@tt instance.social/@name@other.social box.com/x max.com/y https://bit.ly/z",
    "youtube.com/watch?v=abc x.com/hashtag/Wien twitter.com/search?q=a reddit.com/user/q_q",
    "\u212a.com/x ſ.me/y bſky.app/profile/z \u0130nstagram.com/w x.\u212aom/v",
    # Obfuscated e-mail addresses, and text that only looks like them.
    "anna [at] example [dot] org, bob(at)host.nl, c (at) d (dot) e (dot) de, f{at}g{dot}com",
    "jan at gemeente dot nl; JAN AT GEMEENTE DOT NL; Jan At Gemeente Dot Nl; jan aT x dOt nl",
    "meet at home.nl, look at the dot, (at) alone, [at] x, 5 at 6 dot 7, a at b dot c0m",
    "a <at> b <dot> org and a[at]b.c[dot]eu ((at)) x",
]


def _wire_texts(wire: Path) -> list[str]:
    texts = []
    for path in sorted(wire.rglob("*.json")):
        if path.name.endswith("headers.json"):
            continue
        for obj in _walk(load(wire, str(path.relative_to(wire)))):
            texts += [
                v
                for k in ("content", "text", "selftext", "body", "title", "note")
                if isinstance(v := obj.get(k), str)
            ]
    return texts


def test_scrub_equals_scrub_text_on_every_corpus(wire: Path) -> None:
    demo = [p["text"] for p in itertools.islice(iter_posts(3000), 3000)]
    corpus = ADVERSARIAL + _wire_texts(wire) + demo
    assert len(corpus) > 3400
    differing = [t for t in corpus if scrub(t) != scrub_text(t)]
    assert differing == []
    assert sum(scrub(t) != t for t in corpus) > 300  # the corpus exercises the rules


def test_the_byte_scan_sees_every_digit() -> None:
    # scrub skips a text whose UTF-8 has none of the trigger bytes; every character that \d
    # matches must therefore be an ASCII digit or start with a byte the scan looks for.
    digit = re.compile(r"\d")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if digit.match(char):
            first = char.encode("utf-8", "surrogatepass")[0]
            assert char.isascii() or first >= 0xD9, hex(code)


def test_scrub_is_linear_on_pathological_tokens() -> None:
    # One 1 MB "word" with an '@' and digits: scrub_text's e-mail pattern is quadratic on it.
    text = "x" * 1_000_000 + " 2026 a@b.org"
    started = time.perf_counter()
    assert scrub(text).endswith(" 2026 [email]")
    assert time.perf_counter() - started < 2.0


def test_the_bare_profile_hints_survive_case_folding() -> None:
    # scrub runs the bare profile rule only where the lower-cased text holds one of its hints;
    # the rule's domains are matched case-insensitively on ASCII only (`(?ai:...)`), so every
    # character they match lower-cases to an ASCII letter (not so for plain IGNORECASE: the
    # Kelvin sign matches "k", and "ſ" matches "s" without lower-casing to it).
    from core.privacy import _BARE_PROFILE, BARE_PROFILE_HINTS

    letter = re.compile("(?ai:[a-z])")
    matched = [chr(c) for c in range(sys.maxunicode + 1) if letter.fullmatch(chr(c))]
    assert sorted(matched) == sorted("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert re.fullmatch("(?i:s)", "ſ") and "ſ".lower() != "s"  # why the ASCII flag is needed
    for text in ("TWITTER.COM/a", "Threads.Net/a", "T.ME/a", "BSKY.APP/PROFILE/a"):
        assert _BARE_PROFILE.fullmatch(text)
        assert any(h in text.lower() for h in BARE_PROFILE_HINTS)
    assert not _BARE_PROFILE.fullmatch("bſky.app/profile/a")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see x.com/anna_k now", "see [profile] now"),
        ("twitter.com/a, bsky.app/profile/b.bsky.social", "[profile] [profile]"),
        ("demo.social/@anna and linkedin.com/in/anna-k", "[profile] and [profile]"),
        ("t.me/chan facebook.com/a.b instagram.com/c", "[profile] [profile] [profile]"),
        ("tiktok.com/@d youtube.com/@e", "[profile] [profile]"),
        ("https://youtube.com/@e https://t.me/f", "[profile] [profile]"),
        ("anna [at] example [dot] org", "[email]"),
        ("write anna(at)example.org!", "write [email]!"),
        ("anna at example dot org or ANNA AT EXAMPLE DOT ORG", "[email] or [email]"),
        ("box.com/files and youtube.com/watch?v=1", "box.com/files and youtube.com/watch?v=1"),
        ("meet at home.nl at 5", "meet at home.nl at 5"),
        ("we looked at the dot", "we looked at the dot"),
    ],
)
def test_scheme_less_profiles_and_obfuscated_addresses(text: str, expected: str) -> None:
    assert scrub(text) == scrub_text(text) == expected


def test_new_rules_are_linear_on_pathological_texts() -> None:
    # 250 kB each: linear, a second at most; quadratic, hours.
    for text in (
        "a" * 150_000 + " [at] " + "b." * 50_000,
        "x at " * 50_000 + "dot",
        "(at) " * 50_000,
        "a.com/" * 40_000,
        "/@" * 120_000,
    ):
        started = time.perf_counter()
        assert scrub(text) == scrub_text(text)
        assert time.perf_counter() - started < 5.0, text[:40]


def test_pseudonym_cache_is_the_keyed_hash() -> None:
    for author in ("@Anna_K@demo.social", "u/jan", "did:plc:abc"):
        assert pseudonym("mastodon", author, "p" * 20) == pseudonymise("mastodon", author, "p" * 20)
    assert pseudonym("mastodon", "anna", "p" * 20) != pseudonym("mastodon", "anna", "q" * 20)


def test_identity_forms() -> None:
    forms = identity_forms(
        [
            "@anna_k@demo.social",
            "Donnagen :hehehmuhar:",
            "u/jan_rdam",
            "G.",
            None,
            "kagrox.bsky.social",
        ]
    )
    assert set(forms) == {
        "anna_k@demo.social",
        "anna_k",
        "Donnagen",
        "jan_rdam",
        "kagrox.bsky.social",
        "kagrox",
    }
    assert [len(f) for f in forms] == sorted((len(f) for f in forms), reverse=True)  # longest first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Simon P. Couch wrote this", "@user wrote this"),
        ("blog: https://www.simonpcouch.com/blog/2025/", "blog: [link]"),
        ("SIMONPCOUCH agrees", "@user agrees"),
        ("simonpcouchy is someone else", "simonpcouchy is someone else"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_redact_identities(text: str, expected: str) -> None:
    assert redact_identities(text, ["simonpcouch", "Simon P. Couch"]) == expected
