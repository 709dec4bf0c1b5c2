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
