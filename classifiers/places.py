"""Places: the cities a post is about, as Urban Audit codes, from the city gazetteer and from
source-level hints. Ambiguous names are resolved by a hint or left out, never guessed.

Gazetteer: `dbt/seeds/cities.csv` when it exists, else `dbt/seeds/demo_cities.csv`. It is read
defensively, because its columns are someone else's to evolve: the code column may be called
`city_code`, `urau_code` or `code`; names come from `city_name`/`name`/`name_en`,
`native_name`/`name_native`, and from any of `exonyms`, `aliases`, `slang`, `slang_tags`,
`nicknames` (values separated by `|` or `;`; native names also by `/`, as in "Bruxelles/Brussel");
`hashtags` are matched only as hashtags (`#wien`); an optional `common_word` / `ambiguous`
column (true/1/yes) marks names that are also ordinary words.

Matching: Unicode NFC + casefold, whole words (no word character around), longest name first.
An accent-free spelling of each name is added (Malmo, Koln), since posts often drop accents.

Evidence and the rules that keep a name from being guessed:
- `source`: the post's `city_hint` (a city subreddit, a local feed) when it is a known code.
- `text` / `hashtag`: a name in the text. A name shared by several cities (e.g. two Frankfurts
  in a full gazetteer) is resolved only by the post's city hint or country hint (exactly one
  candidate there); otherwise it is left out.
- A name that is a taxonomy keyword of the post's language is not a place in that language:
  "Roma" is Rome in Italian and the Roma people in English, German and Dutch.
- A name that is also an ordinary word (`COMMON_WORDS`, or flagged in the gazetteer) counts only
  when written with a capital letter and not as the first word of a sentence, or as a hashtag.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core import reference
from core.text import FoldedText, fold, strip_accents

RULES_VERSION = "p1"  # bump when the matching rules below change
# City names that are ordinary words in a platform language (lower-cased). Matched only with a
# capital letter mid-sentence, or as a hashtag.
COMMON_WORDS = frozenset(
    {
        "nice", "split", "mons", "sale", "bath", "reading", "best", "gap", "bar", "hof", "lens",
        "goes", "born", "ede", "zug", "deal", "wells", "march", "orange", "sens", "tours", "auch",
        "bra", "rust", "mine", "vis", "as", "den", "ter", "leer", "weil", "essen", "marl", "moers",
        "hamm", "halle", "kiel", "worms", "gera", "lang", "bergen", "hengelo", "soest", "mantes",
        "alba", "angers", "nancy", "pau", "cuenca", "leon", "leiden", "luz", "vila", "ponte",
        "velden", "lucca", "como", "torre", "fano", "carpi", "sori", "ruse", "pula", "kos",
    }
)  # fmt: skip
_SPLIT = re.compile(r"\s*[|;]\s*")


def default_gazetteer_path(seeds_dir: Path | None = None) -> Path:
    seeds_dir = seeds_dir or reference.seeds_dir()
    full = seeds_dir / "cities.csv"
    return full if full.exists() else seeds_dir / "demo_cities.csv"


def _first(row: dict[str, str], *names: str) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    return ""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "t", "yes", "y"}


@dataclass(frozen=True)
class City:
    code: str
    name: str
    country: str


@dataclass
class Gazetteer:
    cities: dict[str, City]
    names: dict[str, set[str]]  # folded name -> codes
    hashtags: dict[str, set[str]]  # folded tag (without '#') -> codes
    common: set[str] = field(default_factory=set)  # folded names that are ordinary words
    source: Path | None = None
    fingerprint: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        path = path or default_gazetteer_path()
        if not path.exists():
            raise FileNotFoundError(f"city gazetteer not found: {path}")
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = [
                {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                for row in csv.DictReader(f)
            ]
        cities: dict[str, City] = {}
        names: dict[str, set[str]] = defaultdict(set)
        hashtags: dict[str, set[str]] = defaultdict(set)
        common: set[str] = set()

        def add(name: str, code: str, flagged: bool) -> None:
            for variant in {fold(name), fold(strip_accents(name))}:
                variant = variant.strip()
                # two-letter "names" would match everywhere; numbers are not names
                if len(variant) < 3 or not any(ch.isalpha() for ch in variant):
                    continue
                names[variant].add(code)
                if flagged or variant in COMMON_WORDS:
                    common.add(variant)

        for row in rows:
            code = _first(row, "city_code", "urau_code", "code").upper()
            if not re.fullmatch(r"[A-Z]{2}\d{3}[A-Z0-9]", code or ""):
                continue  # not an Urban Audit city code: skip the row rather than guess
            name = _first(row, "city_name", "name", "name_en", "label", "urau_name")
            country = _first(row, "country_code", "cntr_code", "country").upper() or code[:2]
            cities[code] = City(code, name or code, country)
            flagged = _truthy(_first(row, "common_word", "ambiguous"))
            if name:
                add(name, code, flagged)
            native = _first(row, "native_name", "name_native", "native")
            for part in re.split(r"\s*/\s*|\s*[|;]\s*", native) if native else []:
                add(part, code, flagged)
            for column in ("exonyms", "aliases", "slang", "slang_tags", "nicknames", "names"):
                for part in _SPLIT.split(row.get(column, "")):
                    if part:
                        add(part.lstrip("#"), code, flagged)
            for part in _SPLIT.split(row.get("hashtags", "")):
                tag = fold(part.strip().lstrip("#"))
                if tag:
                    hashtags[tag].add(code)
        if not cities:
            raise ValueError(f"no city with an Urban Audit code in {path}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return cls(cities, dict(names), dict(hashtags), common, path, digest)


@dataclass(frozen=True)
class CityMention:
    code: str
    from_text: bool
    from_hashtag: bool
    from_source: bool


class PlaceTagger:
    task = "cities"

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        keywords_by_lang: dict[str, set[str]] | None = None,
    ) -> None:
        self.gazetteer = gazetteer or Gazetteer.load()
        self._keywords = keywords_by_lang or {}
        names = sorted(self.gazetteer.names, key=len, reverse=True)
        self._names = (
            re.compile(r"(?<!\w)(#?)(" + "|".join(re.escape(n) for n in names) + r")(?!\w)")
            if names
            else None
        )
        tags = sorted(self.gazetteer.hashtags, key=len, reverse=True)
        self._tags = (
            re.compile(r"#(" + "|".join(re.escape(t) for t in tags) + r")(?!\w)") if tags else None
        )
        # the blocked names depend on the taxonomy keywords: they are part of the version
        blocked = hashlib.sha256(
            repr(sorted((k, sorted(v)) for k, v in self._keywords.items())).encode()
        ).hexdigest()[:6]
        self.version = f"gazetteer-{self.gazetteer.fingerprint}-{blocked}-{RULES_VERSION}"
        source = self.gazetteer.source.name if self.gazetteer.source else "?"
        self.description = (
            f"city gazetteer {source} ({len(self.gazetteer.cities)} cities) + source hints"
        )

    def _capitalised_mid_sentence(self, original: str, start: int) -> bool:
        if start >= len(original) or not original[start].isupper():
            return False
        before = original[:start].rstrip()
        return bool(before) and before[-1] not in ".!?:\n"

    def _resolve(
        self, codes: set[str], city_hint: str | None, country_hint: str | None
    ) -> str | None:
        if len(codes) == 1:
            return next(iter(codes))
        if city_hint in codes:
            return city_hint
        if country_hint:
            in_country = [c for c in codes if self.gazetteer.cities[c].country == country_hint]
            if len(in_country) == 1:
                return in_country[0]
        return None  # ambiguous: left out, never guessed

    def tag(
        self,
        text: str,
        lang: str | None = None,
        city_hint: str | None = None,
        country_hint: str | None = None,
    ) -> list[CityMention]:
        city_hint = (city_hint or "").strip().upper() or None
        country_hint = (country_hint or "").strip().upper() or None
        found: dict[str, dict[str, bool]] = defaultdict(dict)
        folded = FoldedText(text or "")
        blocked = self._keywords.get(lang or "", set())
        if self._names is not None:
            for m in self._names.finditer(folded.folded):
                hashtag, name = bool(m.group(1)), m.group(2)
                if name in blocked and not hashtag:
                    continue
                if (
                    name in self.gazetteer.common
                    and not hashtag
                    and not self._capitalised_mid_sentence(
                        folded.original, folded.start_of(m.start(2))
                    )
                ):
                    continue
                code = self._resolve(self.gazetteer.names[name], city_hint, country_hint)
                if code:
                    found[code]["hashtag" if hashtag else "text"] = True
        if self._tags is not None:
            for m in self._tags.finditer(folded.folded):
                code = self._resolve(self.gazetteer.hashtags[m.group(1)], city_hint, country_hint)
                if code:
                    found[code]["hashtag"] = True
        if city_hint in self.gazetteer.cities:
            found[city_hint]["source"] = True
        return [
            CityMention(
                code, ev.get("text", False), ev.get("hashtag", False), ev.get("source", False)
            )
            for code, ev in sorted(found.items())
        ]

    def tag_many(
        self,
        texts: Sequence[str],
        langs: Sequence[str | None],
        city_hints: Sequence[str | None],
        country_hints: Sequence[str | None],
    ) -> list[list[CityMention]]:
        return [
            self.tag(t, lang, c, k)
            for t, lang, c, k in zip(texts, langs, city_hints, country_hints, strict=True)
        ]
