"""Deterministic generator of synthetic, clearly labelled demo posts in the NDJSON import format.

The demo data lets every stage of the platform run end to end without any real social-media
data: posts in eight languages (en, de, nl, sv, fr, es, it, el) about the cities of
``dbt/seeds/demo_cities.csv``, spread over a configurable period, from five kinds of sources,
with ground-truth ``labels`` (integration areas, sentiment, hate, event) so that the classifiers
and the marts can be checked against known answers. Every record says ``"synthetic": true``.

Guarantees (all enforced while generating and covered by ``tests/demo``):

* Determinism: the output is a pure function of (seed, n_posts, start, days, seed files).
  ``random.Random(seed)`` draws the volume tables; then every (day, hour) chunk has its own
  ``random.Random(f"{seed}/{day}/{hour}")`` stream and a post count fixed in advance, so the
  same arguments give identical bytes, whether one process or several render the chunks.
* Bounded memory: posts are streamed in time order; state is O(days x cities) plus caches
  bounded by the phrase bank, never O(n_posts): 10 million posts need the memory of 1 million.
* Area labels are reproducible by a keyword tagger: a post labelled with areas A contains, for
  each area in A, a keyword of that area in the post's language from
  ``dbt/seeds/area_keywords.csv``, and no keyword of any other area in that language. The rule
  is :class:`KeywordMatcher` (see ``docs/demo-data.md``): NFC + ``str.casefold()`` on text and
  keyword, and a keyword matches where it is not preceded or followed by a word character
  (``\\w``, Unicode). Each generated text is re-checked with it before it is emitted.
* Volume spikes around a few dated events (``EVENTS``), recorded in ``labels.event``.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import json
import logging
import math
import multiprocessing
import os
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from core import reference
from core.text import fold
from demo import phrases

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("en", "de", "nl", "sv", "fr", "es", "it", "el")
PLATFORMS: tuple[str, ...] = ("mastodon", "bluesky", "reddit", "news", "x_import")
SENTIMENTS: tuple[str, ...] = phrases.SENTIMENTS
DEFAULT_START = date(2026, 6, 1)
DEFAULT_DAYS = 90
DEFAULT_SEED = 42


REQUIRED_FIELDS: tuple[str, ...] = (
    "source",
    "platform",
    "external_id",
    "created_at",
    "author_handle",
    "author_name",
    "text",
    "lang",
    "city_code",
    "country_code",
    "url",
    "synthetic",
    "labels",
)

# --- Mix of the generated stream -------------------------------------------------------------
ENGLISH_SHARE = 0.10  # English posts in non-English cities (expats, international accounts)
HATE_RATE = 0.035  # base share of hateful posts; events can raise it locally
AREA_COUNT_WEIGHTS = (0.30, 0.45, 0.18, 0.07)  # posts with 0, 1, 2, 3 areas
CLOSER_RATE = 0.30  # chance of a keyword-free closing sentence after the topical ones
# One draw decides the optional extra: mention, e-mail, phone number or hashtag (exclusive).
MENTION_RATE, EMAIL_RATE, PHONE_RATE, HASHTAG_RATE = 0.06, 0.02, 0.015, 0.05
MIN_TEXT_CHARS = 40  # language identification needs some text
PLATFORM_WEIGHTS = {
    "mastodon": 0.22,
    "bluesky": 0.18,
    "reddit": 0.25,
    "news": 0.15,
    "x_import": 0.20,
}
SENTIMENT_WEIGHTS = (0.40, 0.38, 0.22)  # negative, neutral, positive on social platforms
NEWS_SENTIMENT_WEIGHTS = (0.20, 0.65, 0.15)  # news is mostly reporting
AREA_WEIGHTS = {
    "employment": 10,
    "education": 8,
    "health_care": 6,
    "language": 7,
    "social_welfare": 6,
    "public_perceptions": 6,
    "religion_and_culture": 5,
    "gender_and_violence": 4,
    "crime_and_security": 7,
    "asylum_and_refugees": 9,
    "citizenship": 4,
    "family_reunification": 3,
    "residence_and_irregular_status": 5,
    "political_participation": 3,
    "anti_discrimination": 6,
    "integration_programmes": 5,
    "roma_inclusion": 2,
    "housing": 10,
    "urban_development": 4,
}
# Country flavour, so that city comparisons show something (areas unknown here weigh 1).
COUNTRY_AREA_BOOST = {
    "roma_inclusion": {"IT": 3.0, "ES": 3.0, "EL": 3.0, "FR": 2.0, "BE": 1.5},
    "asylum_and_refugees": {"EL": 1.6, "IT": 1.5},
    "housing": {"DE": 1.4, "NL": 1.5, "SE": 1.3, "IE": 1.6, "UK": 1.3},
    "integration_programmes": {"NL": 1.6, "SE": 1.5, "DE": 1.4, "AT": 1.4},
    "language": {"SE": 1.3, "BE": 1.3},
}
# Areas that hateful posts mostly attach to.
HATE_AREAS = (
    "asylum_and_refugees",
    "crime_and_security",
    "religion_and_culture",
    "housing",
    "social_welfare",
    "employment",
)
# Posting activity by hour of day (UTC), and by weekday (Monday first).
HOUR_WEIGHTS = (
    0.30, 0.20, 0.15, 0.10, 0.10, 0.20, 0.50, 0.90, 1.20, 1.30, 1.30, 1.30,
    1.40, 1.30, 1.20, 1.20, 1.30, 1.40, 1.50, 1.60, 1.50, 1.20, 0.90, 0.60,
)  # fmt: skip
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.95, 0.80, 0.75)
DAY_NOISE_SIGMA = 0.12  # log-normal day-to-day noise per city
POSTS_PER_AUTHOR = 15  # sizes the author pools: a few prolific accounts, many occasional ones


@dataclass(frozen=True)
class DemoEvent:
    """A dated happening that makes a city (or a whole country) talk more about some areas.

    ``day_fraction`` places the event inside the generated period (0.5 = middle), so events
    stay inside any period chosen with ``start``/``days``. On the event day the expected volume
    of every city in scope is multiplied by ``multiplier``, on the next two days by half and a
    quarter of the excess. The excess posts are about the event (``labels.event``).
    """

    event_id: str
    title: str
    day_fraction: float
    scope: str  # "city" or "country"
    code: str  # Urban Audit city code or Eurostat country code
    areas: tuple[str, ...]
    multiplier: float
    sentiment: tuple[float, float, float]  # weights of negative, neutral, positive
    hate_rate: float

    def day_index(self, days: int) -> int:
        """Offset of the event day from the start of a period of ``days`` days."""
        return min(days - 1, max(0, int(self.day_fraction * days)))

    def day(self, start: date, days: int) -> date:
        """Calendar date of the event in a period starting at ``start``."""
        return start + timedelta(days=self.day_index(days))


EVENTS: tuple[DemoEvent, ...] = (
    DemoEvent(
        "berlin_housing_quota",
        "Berlin: senate reserves a quota of social housing for refugees",
        0.13,
        "city",
        "DE001C",
        ("housing", "asylum_and_refugees"),
        5.0,
        (0.60, 0.25, 0.15),
        0.06,
    ),
    DemoEvent(
        "malmo_language_campaign",
        "Malmö: city launches a free language-course campaign for newcomers",
        0.27,
        "city",
        "SE003C",
        ("language", "integration_programmes"),
        5.0,
        (0.15, 0.35, 0.50),
        0.02,
    ),
    DemoEvent(
        "el_asylum_reception_rules",
        "Greece: new national rules for asylum reception and returns",
        0.43,
        "country",
        "EL",
        ("asylum_and_refugees", "residence_and_irregular_status"),
        4.0,
        (0.55, 0.35, 0.10),
        0.08,
    ),
    DemoEvent(
        "rotterdam_jobs_programme",
        "Rotterdam: job-placement programme for status holders",
        0.63,
        "city",
        "NL037C",
        ("employment", "integration_programmes"),
        4.0,
        (0.25, 0.40, 0.35),
        0.03,
    ),
    DemoEvent(
        "fr_citizenship_debate",
        "France: parliament debates stricter naturalisation and local voting rights",
        0.80,
        "country",
        "FR",
        ("citizenship", "political_participation"),
        3.0,
        (0.55, 0.35, 0.10),
        0.06,
    ),
)


def event_calendar(start: date = DEFAULT_START, days: int = DEFAULT_DAYS) -> list[dict]:
    """The events of a period with their dates, as plain dicts (for docs, tests and CLIs)."""
    return [
        {
            "event_id": e.event_id,
            "title": e.title,
            "date": e.day(start, days).isoformat(),
            "scope": e.scope,
            "code": e.code,
            "areas": list(e.areas),
            "multiplier": e.multiplier,
        }
        for e in EVENTS
    ]


# --- Reference data --------------------------------------------------------------------------


def seeds_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Directory of the dbt seeds: ``path``, else ``$MONITOR_SEEDS_DIR``, else the repo's."""
    chosen = Path(path or reference.seeds_dir())
    if not (chosen / "area_keywords.csv").is_file():
        raise FileNotFoundError(
            f"no area_keywords.csv in {chosen}; run from the repository or set MONITOR_SEEDS_DIR "
            "to the folder holding the dbt seeds"
        )
    return chosen


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_areas(path: str | os.PathLike[str] | None = None) -> list[dict[str, str]]:
    """Rows of ``integration_areas.csv`` (area_id, dimension, label, description), in file order."""
    return _read_csv(seeds_dir(path) / "integration_areas.csv")


def load_keywords(
    path: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Keywords of ``area_keywords.csv`` as ``{lang: {area_id: (keyword, ...)}}``, NFC + casefold."""
    out: dict[str, dict[str, list[str]]] = {}
    for row in _read_csv(seeds_dir(path) / "area_keywords.csv"):
        kw = normalise(row["keyword"].strip())
        if kw:
            out.setdefault(row["lang"].strip(), {}).setdefault(row["area_id"].strip(), []).append(
                kw
            )
    return {
        lang: {a: tuple(dict.fromkeys(k)) for a, k in areas.items()} for lang, areas in out.items()
    }


@dataclass(frozen=True)
class City:
    """One row of ``demo_cities.csv``."""

    city_code: str
    city_name: str
    native_name: str
    country_code: str
    lat: float
    lon: float
    population: int
    languages: tuple[str, ...]


def load_cities(path: str | os.PathLike[str] | None = None) -> list[City]:
    """Rows of ``demo_cities.csv``, sorted by city code."""
    cities = [
        City(
            r["city_code"],
            r["city_name"],
            r["native_name"],
            r["country_code"],
            float(r["lat"]),
            float(r["lon"]),
            int(r["population"]),
            tuple(x.strip() for x in r["languages"].split("|") if x.strip()),
        )
        for r in _read_csv(seeds_dir(path) / "demo_cities.csv")
    ]
    return sorted(cities, key=lambda c: c.city_code)


# --- The keyword rule ------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The project's matching normalisation (:func:`core.text.fold`)."""
    return fold(text)


class KeywordMatcher:
    """Reference implementation of the keyword rule the area labels follow.

    Text and keywords are normalised with :func:`normalise`. A keyword matches where it occurs
    with no word character (``\\w``) immediately before or after it; inside a keyword, spaces,
    hyphens and apostrophes must match literally. This equals the regular expression
    ``(?<!\\w)<re.escape(keyword)>(?!\\w)`` on the normalised text. Only the keywords of the
    post's language are used.

    For speed, one-word keywords are looked up in the set of ``\\w+`` tokens of the text (which
    is the same rule), and multi-word keywords are only tried with their regex when all their
    tokens occur.
    """

    def __init__(self, keywords: dict[str, dict[str, tuple[str, ...]]]) -> None:
        self._single: dict[str, dict[str, frozenset[str]]] = {}
        self._multi: dict[str, dict[str, list[tuple[frozenset[str], re.Pattern[str], str]]]] = {}
        for lang, by_area in keywords.items():
            single: dict[str, set[str]] = {}
            multi: dict[str, list[tuple[frozenset[str], re.Pattern[str], str]]] = {}
            for area, kws in by_area.items():
                for kw in kws:
                    kw = normalise(kw)
                    tokens = _WORD.findall(kw)
                    if not tokens:
                        raise ValueError(f"keyword {kw!r} ({lang}, {area}) has no letters")
                    if tokens == [kw]:
                        single.setdefault(kw, set()).add(area)
                    else:
                        rx = re.compile(r"(?<!\w)" + re.escape(kw) + r"(?!\w)")
                        multi.setdefault(tokens[0], []).append((frozenset(tokens), rx, area))
            self._single[lang] = {k: frozenset(v) for k, v in single.items()}
            self._multi[lang] = multi

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._single)

    def areas(self, text: str, lang: str) -> set[str]:
        """Areas with at least one keyword (of language ``lang``) in ``text``."""
        norm = normalise(text)
        tokens = set(_WORD.findall(norm))
        found: set[str] = set()
        single = self._single.get(lang, {})
        for tok in tokens.intersection(single):
            found |= single[tok]
        multi = self._multi.get(lang, {})
        for first in tokens.intersection(multi):
            for needed, rx, area in multi[first]:
                if area not in found and needed <= tokens and rx.search(norm):
                    found.add(area)
        return found


# --- Phrase banks, checked against the seed --------------------------------------------------

# Sentence pieces end with one of these; keywords made only of word characters, spaces,
# hyphens and apostrophes then cannot match across two sentences (see _compose).
_SENTENCE_END = (".", "!", "?", ";")
_SAFE_KEYWORD = re.compile(r"[\w' -]+")
_JSON_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


def _check_piece(piece: str, where: str) -> None:
    # The writer formats JSON by hand: pieces must need no escaping, and must be NFC so that
    # what the tagger normalises is what was checked.
    if _JSON_UNSAFE.search(piece):
        raise ValueError(f"phrase {piece!r} ({where}) contains a quote, backslash or control char")
    if unicodedata.normalize("NFC", piece) != piece:
        raise ValueError(f"phrase {piece!r} ({where}) is not NFC-normalised")


def _skeleton(template: str) -> str:
    # Placeholders become a punctuation mark, so that the check sees the template's own words
    # and cannot join them across a placeholder.
    return template.replace("{topic}", " | ").replace("{city}", " | ")


@dataclass
class _LangBank:
    """Validated phrase bank of one language."""

    topics: dict[str, tuple[str, ...]]
    frames: dict[str, tuple[str, ...]]  # with {topic}, some with {city}
    generic: dict[str, tuple[str, ...]]
    hate: tuple[str, ...]
    email: tuple[str, ...]
    phone: tuple[str, ...]
    mention: tuple[str, ...]
    first: tuple[tuple[str, str], ...]
    last: tuple[tuple[str, str], ...]


def _clean(pieces, lang: str, matcher: KeywordMatcher, where: str, keep_if=None) -> tuple[str, ...]:
    kept = []
    for p in pieces:
        _check_piece(p, f"{lang} {where}")
        found = matcher.areas(_skeleton(p), lang)
        ok = keep_if(found) if keep_if else not found
        if ok:
            kept.append(p)
        else:
            log.warning(
                "demo phrase dropped (%s %s): %r matches keywords of %s",
                lang,
                where,
                p,
                sorted(found),
            )
    return tuple(kept)


def build_banks(
    matcher: KeywordMatcher, area_ids: list[str], languages: tuple[str, ...] = LANGUAGES
) -> dict[str, _LangBank]:
    """Phrase banks of ``phrases`` that obey the keyword rule for the loaded keywords.

    A piece that breaks the rule (e.g. after an analyst added a keyword that also occurs in a
    neutral sentence) is dropped with a warning; if an area or a sentiment loses all its
    pieces in a language, the generator cannot keep its promise and raises.
    """
    banks: dict[str, _LangBank] = {}
    for lang in languages:
        topics = {}
        for area in area_ids:
            topics[area] = _clean(
                phrases.TOPICS[lang].get(area, ()),
                lang,
                matcher,
                f"topic {area}",
                keep_if=lambda found, a=area: found == {a},
            )
            if not topics[area]:
                raise ValueError(
                    f"no usable topic phrase for area {area!r} in {lang!r}: add one to "
                    "demo/phrases.py that contains one of its keywords and no other area's"
                )
        frames, generic = {}, {}
        for s in SENTIMENTS:
            for tpl in phrases.FRAMES[lang][s]:
                if tpl.count("{topic}") != 1:
                    raise ValueError(f"frame {tpl!r} ({lang}) needs exactly one {{topic}}")
            frames[s] = _clean(phrases.FRAMES[lang][s], lang, matcher, f"frame {s}")
            generic[s] = _clean(phrases.GENERIC[lang][s], lang, matcher, f"generic {s}")
            for tpl in (*frames[s], *generic[s], *phrases.HATE[lang]):
                if not tpl.endswith(_SENTENCE_END):
                    raise ValueError(
                        f"sentence {tpl!r} ({lang}) must end with one of {_SENTENCE_END}"
                    )
            if not frames[s] or not generic[s]:
                raise ValueError(f"no usable {s} frame or generic sentence left for {lang!r}")
        names_ok = []
        for kind in ("first", "last"):
            table = getattr(phrases, f"{kind.upper()}_NAMES")[lang]
            ok = tuple(n for n in table if not matcher.areas(f"{n[0]} {n[1]}", lang))
            names_ok.append(ok)
            for n in table:
                _check_piece(n[0], f"{lang} name")
        banks[lang] = _LangBank(
            topics=topics,
            frames=frames,
            generic=generic,
            hate=_clean(phrases.HATE[lang], lang, matcher, "hate"),
            email=_clean(phrases.EMAIL[lang], lang, matcher, "email"),
            phone=_clean(phrases.PHONE[lang], lang, matcher, "phone"),
            mention=_clean(phrases.MENTION[lang], lang, matcher, "mention"),
            first=names_ok[0],
            last=names_ok[1],
        )
        if not banks[lang].hate or not banks[lang].first or not banks[lang].last:
            raise ValueError(f"no usable hate sentence or author names left for {lang!r}")
    return banks


# --- The generator ---------------------------------------------------------------------------


def _slug(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_")


def _cumulative(weights) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return [x / acc for x in out]


def _split(template: str) -> tuple[str, str]:
    pre, _, suf = template.partition("{topic}")
    return pre, suf


class _Context:
    """Everything needed to write posts of one city in one language (pre-formatted)."""

    __slots__ = (
        "city_code",
        "country_code",
        "country_lower",
        "email",
        "first",
        "frames",
        "generic",
        "handle_offset",
        "handle_step",
        "hashtag",
        "hate",
        "lang",
        "last",
        "memo",
        "mention",
        "phone",
        "phone_formats",
        "pool",
        "sources",
        "topics",
        "url_city",
    )


# "MM:SSZ" for every second of an hour: timestamps are a prefix lookup, not a format call.
_MMSS = tuple(f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60))


class _Generator:
    """Per-run tables; the posts are produced chunk by chunk, one chunk per (day, hour).

    Each chunk has its own RNG, seeded from (seed, day, hour), and a fixed number of posts
    decided up front (largest-remainder split of n_posts over days, then hours). Chunks are
    therefore independent: they can be rendered in any process and the concatenated output is
    the same bytes whatever the number of workers.
    """

    def __init__(
        self,
        n_posts: int,
        seed: int,
        start: date,
        days: int,
        seeds_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if n_posts < 0:
            raise ValueError("n_posts must be >= 0")
        if days < 1:
            raise ValueError("days must be >= 1")
        self.n_posts, self.seed, self.start, self.days = n_posts, seed, start, days
        self.seeds_path = seeds_path
        self.area_ids = [r["area_id"] for r in load_areas(seeds_path)]
        self.area_rank = {a: i for i, a in enumerate(self.area_ids)}
        keywords = load_keywords(seeds_path)
        missing = [lang for lang in LANGUAGES if lang not in keywords]
        if missing:
            raise ValueError(f"area_keywords.csv has no keywords for {missing}")
        self.matcher = KeywordMatcher(keywords)
        # With unusual keywords (e.g. containing '.') a keyword could span two sentences: then
        # every post is checked as a whole instead of sentence by sentence.
        self.check_whole_text = any(
            not _SAFE_KEYWORD.fullmatch(kw)
            for by_area in keywords.values()
            for kws in by_area.values()
            for kw in kws
        )
        self.banks = build_banks(self.matcher, self.area_ids)
        self.cities = load_cities(seeds_path)
        if not self.cities:
            raise ValueError("demo_cities.csv is empty")
        for c in self.cities:
            bad = [lang for lang in c.languages if lang not in LANGUAGES]
            if bad or not c.languages:
                raise ValueError(f"{c.city_code}: unsupported or missing languages {bad}")
        for e in EVENTS:
            unknown = [a for a in e.areas if a not in self.area_rank]
            if unknown:
                raise ValueError(f"event {e.event_id} uses unknown areas {unknown}")
        self._build_tables(random.Random(seed))
        self.areas_json: dict[tuple[str, ...], str] = {}
        self._area_sets: dict[frozenset[str], frozenset[str]] = {}

    def _build_tables(self, rng: random.Random) -> None:
        cities, days = self.cities, self.days
        n_c = len(cities)
        city_w = [math.sqrt(c.population) for c in cities]
        # Event multipliers per (city, day); the strongest event wins where two overlap.
        self.day_events: list[list[tuple[int, float] | None]] = [[None] * n_c for _ in range(days)]
        mult = [[1.0] * days for _ in range(n_c)]
        for ei, ev in enumerate(EVENTS):
            d0 = ev.day_index(days)
            for ci, c in enumerate(cities):
                in_scope = (
                    c.city_code == ev.code if ev.scope == "city" else c.country_code == ev.code
                )
                if not in_scope:
                    continue
                for off, share in ((0, 1.0), (1, 0.5), (2, 0.25)):
                    d = d0 + off
                    m = 1.0 + (ev.multiplier - 1.0) * share
                    if d < days and m > mult[ci][d]:
                        mult[ci][d] = m
                        self.day_events[d][ci] = (ei, (m - 1.0) / m)  # share of event posts
        day_weights: list[float] = []
        self.day_city_cum: list[list[float]] = []
        for d in range(days):
            wd = WEEKDAY_WEIGHTS[(self.start + timedelta(days=d)).weekday()]
            ws = [
                city_w[ci] * wd * mult[ci][d] * math.exp(rng.gauss(0.0, DAY_NOISE_SIGMA))
                for ci in range(n_c)
            ]
            day_weights.append(sum(ws))
            self.day_city_cum.append(_cumulative(ws))
        self.plan: list[tuple[int, int, int, int]] = []  # (day, hour, posts, first index)
        first = 0
        for d, k in enumerate(_largest_remainder(self.n_posts, day_weights)):
            for h, kh in enumerate(_largest_remainder(k, HOUR_WEIGHTS)):
                if kh:
                    self.plan.append((d, h, kh, first))
                    first += kh
        self.day_prefix = [(self.start + timedelta(days=d)).isoformat() + "T" for d in range(days)]
        self.platform_cum = _cumulative(PLATFORM_WEIGHTS[p] for p in PLATFORMS)
        self.sent_cum = _cumulative(SENTIMENT_WEIGHTS)
        self.news_sent_cum = _cumulative(NEWS_SENTIMENT_WEIGHTS)
        self.count_cum = _cumulative(AREA_COUNT_WEIGHTS)
        self.event_sent_cum = [_cumulative(e.sentiment) for e in EVENTS]
        self.area_cum: dict[str, list[float]] = {}
        for country in {c.country_code for c in cities}:
            self.area_cum[country] = _cumulative(
                AREA_WEIGHTS.get(a, 1) * COUNTRY_AREA_BOOST.get(a, {}).get(country, 1.0)
                for a in self.area_ids
            )
        self.hate_areas = [a for a in HATE_AREAS if a in self.area_rank]
        share = [w / sum(city_w) for w in city_w]
        self.contexts: list[dict[str, _Context]] = []
        self.lang_choice: list[tuple[bool, tuple[str, ...]]] = []
        for ci, c in enumerate(cities):
            langs = c.languages if "en" in c.languages else (*c.languages, "en")
            self.contexts.append({lang: self._context(ci, c, lang, share[ci]) for lang in langs})
            self.lang_choice.append((c.languages == ("en",), c.languages))

    def _context(self, ci: int, c: City, lang: str, share: float) -> _Context:
        bank, matcher = self.banks[lang], self.matcher
        if lang == "en":
            name = c.city_name
        else:
            default = c.native_name.split("/")[0]
            name = phrases.CITY_TEXT_NAMES.get(lang, {}).get(c.city_code, default)
        _check_piece(name, f"{lang} city name")
        # A city whose name is itself a keyword in this language is simply never named.
        nameable = not matcher.areas(name, lang)

        def fill(templates: tuple[str, ...]) -> tuple[str, ...]:
            usable = [t for t in templates if nameable or "{city}" not in t]
            return tuple(t.replace("{city}", name) for t in usable)

        def clean(sentences: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(t for t in sentences if not matcher.areas(t, lang))

        x = _Context()
        x.city_code, x.country_code, x.lang = c.city_code, c.country_code, lang
        x.topics = bank.topics
        x.frames = {s: tuple(_split(t) for t in fill(bank.frames[s])) for s in SENTIMENTS}
        x.generic = {s: clean(fill(bank.generic[s])) for s in SENTIMENTS}
        x.hate = clean(fill(bank.hate))
        for s in SENTIMENTS:
            if not x.frames[s] or not x.generic[s] or not x.hate:
                raise ValueError(f"{c.city_code}/{lang}: no usable {s} sentence left")
        x.memo = {}
        x.email, x.phone, x.mention = bank.email, bank.phone, bank.mention
        x.hashtag = "#" + re.sub(r"\W+", "", name) if nameable else ""
        x.first, x.last = bank.first, bank.last
        foreign_en = lang == "en" and "en" not in c.languages
        expected = self.n_posts * share * (ENGLISH_SHARE if foreign_en else 1.0)
        x.pool = max(20, int(expected / POSTS_PER_AUTHOR))
        x.handle_step, x.handle_offset = len(self.cities), ci + 1
        slug, cc = _slug(c.city_name), c.country_code.lower()
        x.sources = {
            "mastodon": f"demo_mastodon_{cc}",
            "bluesky": f"demo_bluesky_{cc}",
            "reddit": f"demo_reddit_{slug}",
            "news": f"demo_news_{slug}",
            "x_import": f"demo_x_import_{cc}",
        }
        x.url_city, x.country_lower = slug, cc
        x.phone_formats = phrases.PHONE_FORMATS.get(c.country_code, ("+00 ### ### ###",))
        return x

    # -- per post ---------------------------------------------------------------------------

    @staticmethod
    def _author(x: _Context, rnd) -> tuple[str, str, str, str, str]:
        """(handle, short display name, first ascii, last ascii, full name) of a pool member."""
        a = int(x.pool * rnd() ** 2)  # skewed: a few accounts post a lot
        nf, nl = len(x.first), len(x.last)
        fd, fa = x.first[a % nf]
        ld, la = x.last[(a // nf) % nl]
        handle = f"{fa}_{la[0]}{(a // (nf * nl)) * x.handle_step + x.handle_offset}"
        return handle, f"{fd} {ld.split()[-1][0]}.", fa, la, f"{fd} {ld}"

    def _compose(
        self, x: _Context, areas: tuple[str, ...], sentiment: str, hate: bool, rnd
    ) -> tuple[str, set[str] | None]:
        """A post text and the areas its keywords give (None: check the whole text).

        Hate and closing sentences are keyword-free (checked when the context was built).
        Topical sentences are checked once each and memoised. Sentences end with . ! ? or ;
        and are joined by a space, so with word-character keywords no match can span two
        sentences: the union of the sentences' areas is the text's. Extras (mentions,
        e-mails, phone numbers, hashtags) are rare and make the caller check the whole text.
        """
        matcher, memo = self.matcher, x.memo
        parts: list[str] = []
        found: set[str] = set()
        if hate:
            parts.append(x.hate[int(rnd() * len(x.hate))])
        frames = x.frames[sentiment]
        nfr, last = len(frames), -1
        for a in areas:
            i = int(rnd() * nfr)
            if i == last:  # two topics in one post: vary the sentence
                i = (i + 1) % nfr
            last = i
            topics = x.topics[a]
            j = int(rnd() * len(topics))
            pre, suf = frames[i]
            sentence = pre + topics[j] + suf
            key = (sentiment, i, a, j)
            got = memo.get(key)
            if got is None:
                got = frozenset(matcher.areas(sentence, x.lang))
                got = memo[key] = self._area_sets.setdefault(got, got)  # share equal sets
            found |= got
            parts.append(sentence)
        generic = x.generic[sentiment]
        if not parts or (len(parts) < 3 and rnd() < CLOSER_RATE):
            parts.append(generic[int(rnd() * len(generic))])
        if hate and len(parts) > 1 and rnd() < 0.5:
            parts.append(parts.pop(0))  # the hateful line is not always first
        text = " ".join(parts)
        while len(text) < MIN_TEXT_CHARS:
            text += " " + generic[int(rnd() * len(generic))]
        r = rnd()
        if r >= MENTION_RATE + EMAIL_RATE + PHONE_RATE + HASHTAG_RATE:
            return text, found
        if r < MENTION_RATE:
            h = self._author(x, rnd)[0]
            if rnd() < 0.3:
                h = f"{h}@mastodon-{x.country_lower}.example"
            if rnd() < 0.5:
                text = f"@{h} {text}"  # a reply
            else:
                text += " " + x.mention[int(rnd() * len(x.mention))].replace("{mention}", "@" + h)
        elif r < MENTION_RATE + EMAIL_RATE:
            _, _, fa, la, _ = self._author(x, rnd)
            dom = phrases.EMAIL_DOMAINS[int(rnd() * len(phrases.EMAIL_DOMAINS))]
            email = f"{fa}.{la}{int(rnd() * 90) + 10}@{dom}"
            text += " " + x.email[int(rnd() * len(x.email))].replace("{email}", email)
        elif r < MENTION_RATE + EMAIL_RATE + PHONE_RATE:
            fmt = x.phone_formats[int(rnd() * len(x.phone_formats))]
            phone = "".join(str(int(rnd() * 10)) if ch == "#" else ch for ch in fmt)
            text += " " + x.phone[int(rnd() * len(x.phone))].replace("{phone}", phone)
        elif x.hashtag:
            text += " " + x.hashtag
        return text, None

    def _pick_areas(self, country: str, k: int, rnd) -> tuple[str, ...]:
        cum, ids = self.area_cum[country], self.area_ids
        chosen: list[str] = []
        while len(chosen) < k:
            a = ids[bisect.bisect_right(cum, rnd())]
            if a not in chosen:
                chosen.append(a)
        return tuple(chosen)

    def records(self) -> Iterator[tuple]:
        """All posts as tuples (see :meth:`line`), in time order."""
        for task in self.plan:
            yield from self.chunk(*task)

    def chunk(self, d: int, h: int, k: int, first: int) -> Iterator[tuple]:
        """The ``k`` posts of day ``d``, hour ``h`` (UTC), numbered from ``first + 1``."""
        rnd = random.Random(f"{self.seed}/{d}/{h}").random
        bisect_right = bisect.bisect_right
        platforms, events = PLATFORMS, EVENTS
        platform_cum, sent_cum, news_sent_cum = self.platform_cum, self.sent_cum, self.news_sent_cum
        count_cum, rank, matcher = self.count_cum, self.area_rank, self.matcher
        whole = self.check_whole_text
        hour_prefix = f"{self.day_prefix[d]}{h:02d}:"
        city_cum, day_events = self.day_city_cum[d], self.day_events[d]
        contexts, lang_choice = self.contexts, self.lang_choice
        en_share = ENGLISH_SHARE
        index = first
        # Ascending sorted uniforms without storing them: the maximum of the j points still
        # to place is cur * U^(1/j) (order statistics drawn from the top).
        cur = 1.0
        for j in range(k, 0, -1):
            cur *= rnd() ** (1.0 / j)
            created = hour_prefix + _MMSS[int((1.0 - cur) * 3600.0)]

            ci = bisect_right(city_cum, rnd())
            english_only, local = lang_choice[ci]
            if english_only:
                lang = "en"
            else:
                r = rnd()
                lang = (
                    "en"
                    if r < en_share
                    else local[int((r - en_share) / (1.0 - en_share) * len(local))]
                )
            x = contexts[ci][lang]
            platform = platforms[bisect_right(platform_cum, rnd())]

            ev = day_events[ci]
            event_id = None
            if ev is not None and rnd() < ev[1]:
                event = events[ev[0]]
                event_id = event.event_id
                ev_areas = event.areas
                if len(ev_areas) > 1 and rnd() < 0.5:
                    areas = ev_areas
                else:
                    areas = (ev_areas[int(rnd() * len(ev_areas))],)
                hate = rnd() < event.hate_rate
                if hate:
                    sentiment = "negative"
                else:
                    sentiment = SENTIMENTS[bisect_right(self.event_sent_cum[ev[0]], rnd())]
            else:
                hate = rnd() < HATE_RATE
                if hate:
                    sentiment = "negative"
                    ha = self.hate_areas
                    areas = (ha[int(rnd() * len(ha))],) if ha and rnd() < 0.5 else ()
                else:
                    cum = news_sent_cum if platform == "news" else sent_cum
                    sentiment = SENTIMENTS[bisect_right(cum, rnd())]
                    n_areas = bisect_right(count_cum, rnd())
                    areas = self._pick_areas(x.country_code, n_areas, rnd) if n_areas else ()
            if len(areas) > 1:
                areas = tuple(sorted(areas, key=rank.__getitem__))

            # The keyword invariant is enforced on every post; a clash (e.g. a multi-word
            # keyword formed by a frame and a topic) is redrawn, deterministically.
            want = set(areas)
            for _attempt in range(50):
                text, found = self._compose(x, areas, sentiment, hate, rnd)
                if found is None or whole:
                    found = matcher.areas(text, lang)
                if found == want:
                    break
            else:
                raise RuntimeError(
                    f"could not write a {lang} post for areas {areas} that obeys the keyword "
                    f"rule; last try: {text!r}"
                )

            handle, display, _, _, full = self._author(x, rnd)
            index += 1
            if platform == "mastodon":
                author = f"@{handle}@mastodon-{x.country_lower}.example"
                url = f"https://mastodon-{x.country_lower}.example/@{handle}/{index}"
                ext_id = f"m-{index:010d}"
            elif platform == "bluesky":
                author = f"@{handle}.bsky.example"
                url = f"https://bsky.example/profile/{handle}.bsky.example/post/{index:x}"
                ext_id = f"b-{index:010d}"
            elif platform == "reddit":
                author = f"u/{handle}"
                url = f"https://reddit.example/r/{x.url_city}/comments/{index:x}/"
                ext_id = f"r-{index:010d}"
            elif platform == "news":
                author, display = f"@{handle}", full  # bylines carry the full name
                url = f"https://news-{x.url_city.replace('_', '-')}.example/articles/{index}"
                ext_id = f"n-{index:010d}"
            else:
                author = f"@{handle}"
                url = f"https://x.example/{handle}/status/{index}"
                ext_id = f"x-{index:010d}"
            yield (
                x.sources[platform],
                platform,
                ext_id,
                created,
                author,
                display,
                text,
                lang,
                x.city_code,
                x.country_code,
                url,
                areas,
                sentiment,
                hate,
                event_id,
            )

    def line(self, rec: tuple) -> str:
        """One NDJSON line, byte-identical to ``json.dumps(record, ensure_ascii=False)``."""
        areas = rec[11]
        aj = self.areas_json.get(areas)
        if aj is None:
            aj = self.areas_json[areas] = json.dumps(list(areas))
        ev = rec[14]
        return (
            f'{{"source": "{rec[0]}", "platform": "{rec[1]}", "external_id": "{rec[2]}", '
            f'"created_at": "{rec[3]}", "author_handle": "{rec[4]}", "author_name": "{rec[5]}", '
            f'"text": "{rec[6]}", "lang": "{rec[7]}", "city_code": "{rec[8]}", '
            f'"country_code": "{rec[9]}", "url": "{rec[10]}", "synthetic": true, '
            f'"labels": {{"areas": {aj}, "sentiment": "{rec[12]}", '
            f'"hate": {"true" if rec[13] else "false"}, '
            f'"event": {"null" if ev is None else chr(34) + ev + chr(34)}}}}}\n'
        )

    def render(self, task: tuple[int, int, int, int], compress: bool) -> bytes:
        """The NDJSON bytes of one chunk; a gzip member of its own when ``compress``.

        A file of concatenated gzip members is a valid gzip file (RFC 1952), so compressed
        chunks can be produced in parallel and simply appended.
        """
        line = self.line
        data = "".join([line(rec) for rec in self.chunk(*task)]).encode("utf-8")
        # Level 1: at higher levels gzip dominates the run time for a few % of size; mtime=0
        # keeps the bytes reproducible.
        return gzip.compress(data, compresslevel=1, mtime=0) if compress else data


def _largest_remainder(total: int, weights) -> list[int]:
    """Split ``total`` into integers proportional to ``weights``; exact and deterministic."""
    weights = list(weights)
    s = sum(weights)
    raw = [total * w / s for w in weights]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))[: total - sum(counts)]:
        counts[i] += 1
    return counts


# Worker processes build their own generator once and render the chunks they are given.
_WORKER: _Generator | None = None


def _init_worker(args: tuple) -> None:
    global _WORKER
    _WORKER = _Generator(*args)


def _render_in_worker(job: tuple[tuple[int, int, int, int], bool]) -> bytes:
    assert _WORKER is not None
    return _WORKER.render(*job)


def _as_dict(rec: tuple) -> dict:
    return {
        "source": rec[0],
        "platform": rec[1],
        "external_id": rec[2],
        "created_at": rec[3],
        "author_handle": rec[4],
        "author_name": rec[5],
        "text": rec[6],
        "lang": rec[7],
        "city_code": rec[8],
        "country_code": rec[9],
        "url": rec[10],
        "synthetic": True,
        "labels": {"areas": list(rec[11]), "sentiment": rec[12], "hate": rec[13], "event": rec[14]},
    }


# --- Public API ------------------------------------------------------------------------------


def iter_posts(
    n_posts: int,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    *,
    seeds_path: str | os.PathLike[str] | None = None,
) -> Iterator[dict]:
    """Stream ``n_posts`` synthetic posts (import-format dicts) in time order, deterministically."""
    gen = _Generator(n_posts, seed, start, days, seeds_path)
    for rec in gen.records():
        yield _as_dict(rec)


def write_posts(
    path: str | os.PathLike[str],
    n_posts: int,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    *,
    workers: int = 1,
    progress: bool | None = None,
    seeds_path: str | os.PathLike[str] | None = None,
) -> int:
    """Write ``n_posts`` posts as NDJSON (gzip if ``path`` ends with ``.gz``); returns the count.

    ``workers`` > 1 renders chunks in that many processes (0 = one per CPU); the bytes are the
    same as with one worker. Progress goes to stderr (every 5 % or 5 s) when ``progress`` is
    true, or by default when ``n_posts >= 100_000``. The file is written to ``<path>.partial``
    and renamed at the end, so a failed run never leaves a truncated file under the final name.
    """
    path = Path(path)
    args = (n_posts, seed, start, days, seeds_path)
    gen = _Generator(*args)
    compress = path.name.endswith(".gz")
    show = n_posts >= 100_000 if progress is None else progress
    workers = (os.cpu_count() or 1) if workers == 0 else max(1, workers)
    tmp = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = last = time.monotonic()
    step = max(1, n_posts // 20)
    next_mark, written = step, 0
    jobs = [(task, compress) for task in gen.plan]
    pool = None
    try:
        if workers > 1 and len(jobs) > 1:
            pool = multiprocessing.get_context().Pool(workers, _init_worker, (args,))
            # imap keeps the order; chunks are small (one hour of one day), so memory stays low.
            chunks = pool.imap(_render_in_worker, jobs, chunksize=4)
        else:
            chunks = (gen.render(*job) for job in jobs)
        with tmp.open("wb") as out:
            for (task, _), data in zip(jobs, chunks, strict=True):
                out.write(data)
                written += task[2]
                if show:
                    now = time.monotonic()
                    if written < n_posts and (written >= next_mark or now - last >= 5.0):
                        _progress(written, n_posts, now - t0)
                        last = now
                        while next_mark <= written:
                            next_mark += step
            if compress and not jobs:
                out.write(gzip.compress(b"", compresslevel=1, mtime=0))  # valid empty .gz
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    if show:
        _progress(written, n_posts, time.monotonic() - t0, finished=True)
    return written


def _progress(done: int, total: int, elapsed: float, *, finished: bool = False) -> None:
    rate = done / elapsed if elapsed > 0 else 0.0
    pct = 100.0 * done / total if total else 100.0
    eta = (total - done) / rate if rate > 0 else 0.0
    tail = f"in {elapsed:.1f}s" if finished else f"eta {eta:.0f}s"
    print(
        f"demo: {done:,}/{total:,} posts ({pct:.0f}%), {rate:,.0f} posts/s, {tail}",
        file=sys.stderr,
        flush=True,
    )


def read_posts(path: str | os.PathLike[str]) -> Iterator[dict]:
    """Stream the records of an NDJSON file written by :func:`write_posts` (gzip or plain)."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def post_stats(path: str | os.PathLike[str]) -> dict:
    """Counts of a demo file: totals per language, platform, source, city, day, area, label."""
    c: dict[str, Counter] = {
        k: Counter()
        for k in ("lang", "platform", "country", "city", "day", "area", "sentiment", "event")
    }
    n = hate = n_areas = 0
    sources: set[str] = set()
    for rec in read_posts(path):
        n += 1
        lab = rec["labels"]
        c["lang"][rec["lang"]] += 1
        c["platform"][rec["platform"]] += 1
        c["country"][rec["country_code"]] += 1
        c["city"][rec["city_code"]] += 1
        c["day"][rec["created_at"][:10]] += 1
        c["sentiment"][lab["sentiment"]] += 1
        c["area"].update(lab["areas"])
        n_areas += bool(lab["areas"])
        if lab["event"]:
            c["event"][lab["event"]] += 1
        hate += bool(lab["hate"])
        sources.add(rec["source"])
    days = sorted(c["day"])
    return {
        "posts": n,
        "first_day": days[0] if days else None,
        "last_day": days[-1] if days else None,
        "days": len(days),
        "sources": len(sources),
        "cities": len(c["city"]),
        "countries": len(c["country"]),
        "hate_share": round(hate / n, 4) if n else 0.0,
        "with_area_share": round(n_areas / n, 4) if n else 0.0,
        **{f"by_{k}": dict(sorted(v.items())) for k, v in c.items() if k != "day"},
        "posts_per_day_min": min(c["day"].values()) if n else 0,
        "posts_per_day_max": max(c["day"].values()) if n else 0,
    }


# --- Official statistics ---------------------------------------------------------------------

# Rough country levels around which the synthetic city values scatter (not real figures).
_FOREIGN_SHARE = {"AT": 30.0, "BE": 25.0, "DE": 18.0, "EL": 8.0, "ES": 14.0, "FR": 12.0,
                  "IE": 18.0, "IT": 12.0, "NL": 14.0, "SE": 13.0, "UK": 20.0}  # fmt: skip
_UNEMPLOYMENT = {"AT": 8.0, "BE": 9.0, "DE": 7.0, "EL": 12.0, "ES": 12.5, "FR": 9.0,
                 "IE": 5.0, "IT": 9.0, "NL": 4.5, "SE": 8.5, "UK": 5.0}  # fmt: skip
OFFICIAL_YEARS = (2022, 2023, 2024, 2025)
OFFICIAL_INDICATORS = (
    "population",
    "foreign_citizens_share",
    "unemployment_rate",
    "unemployment_rate_foreign",
)


def iter_official_statistics(
    seed: int = DEFAULT_SEED, *, seeds_path: str | os.PathLike[str] | None = None
) -> Iterator[dict]:
    """Synthetic yearly city indicators (2022-2025), plausible but invented, flagged synthetic."""
    for c in load_cities(seeds_path):
        # One RNG per city keeps each city's series stable when cities are added to the seed.
        rng = random.Random(f"{seed}:{c.city_code}")
        growth = rng.uniform(-0.002, 0.012)
        share = _FOREIGN_SHARE.get(c.country_code, 12.0) * rng.uniform(0.8, 1.3)
        share_step = rng.uniform(0.2, 0.8)
        unemp = _UNEMPLOYMENT.get(c.country_code, 7.0) * rng.uniform(0.8, 1.3)
        unemp_step = rng.uniform(-0.4, 0.2)
        gap = rng.uniform(1.6, 2.4)
        for i, year in enumerate(OFFICIAL_YEARS):
            rate = max(1.5, unemp + unemp_step * i + rng.gauss(0.0, 0.2))
            values = {
                "population": (round(c.population * (1.0 + growth) ** (year - 2024)), "persons"),
                "foreign_citizens_share": (
                    round(share + share_step * i + rng.gauss(0.0, 0.15), 1),
                    "percent",
                ),
                "unemployment_rate": (round(rate, 1), "percent"),
                "unemployment_rate_foreign": (
                    round(rate * gap + rng.gauss(0.0, 0.3), 1),
                    "percent",
                ),
            }
            for ind in OFFICIAL_INDICATORS:
                value, unit = values[ind]
                yield {
                    "city_code": c.city_code,
                    "year": year,
                    "indicator": ind,
                    "value": value,
                    "unit": unit,
                    "synthetic": "true",
                }


def write_official_statistics(
    path: str | os.PathLike[str],
    seed: int = DEFAULT_SEED,
    *,
    seeds_path: str | os.PathLike[str] | None = None,
) -> int:
    """Write the synthetic indicators as CSV (``city_code,year,indicator,value,unit,synthetic``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(
            fh,
            fieldnames=["city_code", "year", "indicator", "value", "unit", "synthetic"],
            lineterminator="\n",
        )
        w.writeheader()
        for row in iter_official_statistics(seed, seeds_path=seeds_path):
            w.writerow(row)
            n += 1
    return n
