"""Places: the cities a post is about, as Urban Audit codes, from the city gazetteer and from
source-level hints. Ambiguous names are resolved by a hint or left out, never guessed.

Gazetteer: `dbt/seeds/cities.csv` when it exists, else `dbt/seeds/demo_cities.csv`. It is read
defensively, because its columns are someone else's to evolve: the code column may be called
`city_code`, `urau_code` or `code`; names come from `city_name`/`name`/`name_en`,
`native_name`/`name_native`, and from any of `other_names`, `exonyms`, `aliases`, `demonyms`,
`slang`, `slang_tags`, `nicknames` (values separated by `|` or `;`; native names also by `/`, as
in "Bruxelles/Brussel"); `hashtags` are matched only as hashtags (`#wien`); an optional
`common_word` / `ambiguous` column (true/1/yes) marks names that are also ordinary words; the
`languages` column (`de`, `fr|nl`) chooses the inflection rules. A name written `it:romani`
counts only in posts of that language (Romans in Italian, the Roma people elsewhere).

Matching: Unicode NFC + casefold, whole words (no word character around), longest name first,
with one regular expression built as a trie of every name (its cost grows with the text, hardly
with the number of names). An accent-free spelling of each name is added (Malmo, Koln), since
posts often drop accents.

Inflection: names of at least `MIN_INFLECTED` letters also match with the case endings of their
city's languages (`SUFFIXES`: Polish Krakowie from Kraków needs the irregular form in the seed,
Warszawie comes from the rule), and every such name with the German genitive -s (Berlins,
Londons). Inflected forms never replace a name of the gazetteer or an ordinary word, and
ordinary words (below) are never inflected.

Evidence and the rules that keep a name from being guessed:
- `source`: the post's `city_hint` (a city subreddit, a local feed) when it is a known code.
- `text` / `hashtag`: a name in the text. A name shared by several cities (e.g. "Reggio", both
  Reggio Calabria and Reggio Emilia) is resolved only by the post's city hint or country hint
  (exactly one candidate there); otherwise it is left out.
- A name that is a taxonomy keyword of the post's language is not a place in that language:
  "Roma" is Rome in Italian and the Roma people in English, German and Dutch.
- A name that is also an ordinary word (`COMMON_WORDS`, or flagged in the gazetteer) counts only
  as a hashtag, or when written with a capital letter, not as the first word of a sentence, and
  right after a locative word (`LOCATIVES`: "nach Essen", "in Reading", "à Nice"; German
  capitalises every noun, so capitals alone do not tell "normales Essen" from the city).
- A demonym written in lower case in the gazetteer ("napoletani") counts only in lower case:
  capitalised it is a surname (Napolitano). `NOT_PLACES_IN` blocks names per post language
  ("Milan", the football club, in Italian).
- Phrases that contain a city name but are not about the city (`NOT_PLACES`: New York, John
  Bolton, Cambridge Analytica) are matched as a whole and dropped.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core import reference
from core.text import FoldedText, fold, strip_accents

RULES_VERSION = "p2"  # bump when the matching rules below change
# City names (and slang) that are ordinary words in a platform language (lower-cased). Matched
# only with a capital letter mid-sentence, or as a hashtag; never inflected.
COMMON_WORDS = frozenset(
    {
        "nice", "split", "mons", "sale", "bath", "reading", "best", "gap", "bar", "hof", "lens",
        "goes", "born", "ede", "zug", "deal", "wells", "march", "orange", "sens", "tours", "auch",
        "bra", "rust", "mine", "vis", "as", "den", "ter", "leer", "weil", "essen", "marl",
        "moers", "hamm", "halle", "kiel", "worms", "gera", "lang", "bergen", "hengelo", "soest",
        "mantes", "alba", "angers", "nancy", "pau", "cuenca", "leon", "león", "leiden", "luz",
        "vila", "ponte", "velden", "lucca", "como", "torre", "fano", "carpi", "sori", "ruse",
        "pula", "kos", "most", "oss", "roman", "gela", "massa", "latina", "prato", "potenza",
        "bury", "derby", "rugby", "valence", "serres", "faro", "paredes", "celle", "siegen",
        "erlangen", "konstanz", "ogre", "pola", "piła", "pila", "ełk", "elk", "gouda", "hull",
        "stoke", "grays", "paisley", "wiener", "frankfurter", "grazer", "zena", "stad", "'t stad",
        "urbe", "kato", "wro", "manny", "la grassa", "la dotta", "igualada", "vannes",
        "chesterfield", "bolton", "granada", "bremer", "bonner", "linzer", "berner", "eger",
        "haga", "namen", "löwen", "kauen", "ostend", "lincoln", "bedford", "porto", "abo",
        "pest", "colonia", "fiume", "palma", "braga", "guimarães", "guimaraes", "lorca", "posen",
        "brum", "stadi",
    }
)  # fmt: skip
# Phrases that contain a city's name but are about something else: matched, then dropped.
NOT_PLACES = frozenset(
    {
        "new york", "new jersey", "new orleans", "nouvelle-orléans", "new hampshire",
        "new brunswick", "new england", "new south wales", "john bolton", "garcía lorca",
        "garcia lorca", "banco santander", "cambridge analytica", "paris hilton", "nancy pelosi",
        "abraham lincoln", "alessandria d'egitto", "santiago de chile", "wiener schnitzel",
        "frankfurter allgemeine", "frankfurter rundschau", "frankfurter würstchen",
        "hamburger sv", "berliner zeitung", "berliner morgenpost", "valencia venezuela",
        "córdoba argentina", "granada hills", "toledo ohio", "birmingham alabama",
        "london ontario", "manchester united", "manchester city", "bayern münchen", "fc bayern",
        "fc bayern münchen", "borussia dortmund", "borussia mönchengladbach",
        "eintracht frankfurt", "werder bremen", "vfb stuttgart", "1. fc köln", "fc köln",
        "rb leipzig", "hertha berlin", "union berlin", "hull city", "real madrid",
        "atlético madrid", "atletico madrid", "fc barcelona", "inter milan", "ac milan",
        "as roma", "ss lazio", "olympique de marseille", "olympique lyonnais", "paris saint-germain",
        "ajax amsterdam", "psv eindhoven", "feyenoord rotterdam", "celtic glasgow", "fc porto",
        "abendzeitung münchen", "neue zürcher zeitung", "zürcher zeitung", "basler zeitung",
        "nürnberger prozess", "nürnberger prozesse", "nürnberger prozessen", "nürnberger gesetze",
        "rosa luxemburg", "stockholm syndrome", "stockholm-syndrom", "bologna process",
        "bologna-prozess", "dublin regulation", "dublin-verordnung", "dublin iii", "dublin ii",
        "dublin-abkommen", "dublin-verfahren", "dublin-system", "dublin procedure",
        "schengen",
    }
)  # fmt: skip
# Names that are something else in a language: "Milan" is the football club in Italian.
NOT_PLACES_IN = {"it": frozenset({"milan"})}
# Ordinary words of other languages that are only names in these: "Wiener" is a sausage in
# English, the Viennese in German.
NAMES_IN = {"de": frozenset({"wiener", "frankfurter", "grazer", "linzer", "bremer", "bonner"})}
# A demonym followed by one of these is a street or square, not the city (Rigaer Straße and
# Frankfurter Allee are in Berlin, Mainzer Landstraße in Frankfurt).
_STREET = re.compile(
    r"[\s-]*(?:straße|strasse|str\.|landstraße|landstrasse|allee|platz|chaussee|damm|ring|"
    r"gasse|weg)(?![^\W\d])"
)
# "Pasquale Di Napoli": a first name, a capitalised particle, then the name is a surname.
_SURNAME_PARTICLE = re.compile(r"[A-ZÀ-Þ]\w+\s+(?:Di|De|Da|Del|Della|Dalla|Van|Von)\s+$")
# The words after which an ordinary-word name is a place ("nach Essen", "in Reading", "à Nice").
LOCATIVES = frozenset(
    {
        "in", "at", "from", "to", "near", "into", "around", "outside", "visit", "visiting",
        "aus", "nach", "bei", "von", "bis", "über", "à", "au", "de", "en", "vers", "près",
        "depuis", "desde", "hacia", "a", "di", "da", "per", "uit", "naar", "bij", "te", "w",
        "we", "z", "ze", "do", "i", "från", "till", "fra", "til", "σε", "στη", "στο", "στην",
        "em", "para", "no", "na",
    }
)  # fmt: skip
_LAST_WORD = re.compile(r"(\w+)\W*$")
# Case and genitive endings per language, appended to names of at least MIN_INFLECTED letters;
# "a>ie" replaces a final -a (Warszawa -> Warszawie).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "de": ("s",),
    "nl": ("s", "se"),
    "sv": ("s",),
    "da": ("s",),
    "no": ("s",),
    "fi": ("n", "ssa", "ssä", "sta", "stä", "lla", "llä", "lle", "lta", "ltä", "an", "än",
           "un", "iin", "oon", "ksi"),
    "et": ("s", "st", "sse", "a", "ga", "le", "l", "lt"),
    "hu": ("i", "ban", "ben", "ba", "be", "ból", "ből", "ra", "re", "ról", "ről", "on", "en",
           "ön", "hoz", "hez", "höz", "nak", "nek", "ig", "ot", "et", "öt", "t"),
    "pl": ("u", "iu", "a", "ie", "em", "owi", "a>y", "a>ie", "a>ę", "a>ą", "a>o", "e>ach",
           "e>ami"),
    "cs": ("u", "a", "em", "e", "ě", "a>y", "a>u", "a>ou", "a>e", "a>ě"),
    "sk": ("u", "a", "om", "e", "a>y", "a>u", "a>ou", "a>e", "e>iach"),
    "hr": ("u", "a", "om", "e", "a>i", "a>e", "a>u", "a>om"),
    "sl": ("u", "a", "om", "a>i", "a>e", "a>o"),
    "lt": ("as>e", "as>o", "as>ą", "us>uje", "us>aus", "us>ų", "a>oje", "a>os", "ai>iuose",
           "ai>ių"),
    "lv": ("a>ā", "a>as", "s>ī", "s>s"),
    "ro": ("ul", "ului", "a>ei", "i>iul", "i>iului"),
    "bg": ("та",),
    "el": ("α>ας", "η>ης", "ο>ου", "ι>ιου"),
}  # fmt: skip
GENITIVE_S = "s"
MIN_INFLECTED = 5
_SPLIT = re.compile(r"\s*[|;]\s*")
_LANG_PREFIX = re.compile(r"^([a-z]{2}):(.+)$")


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


def inflections(name: str, languages: Iterable[str]) -> set[str]:
    """Case and genitive forms of a folded `name` in `languages` (the name itself excluded)."""
    if sum(ch.isalpha() for ch in name) < MIN_INFLECTED:
        return set()
    forms = set()
    if name[-1] not in "sxzß":
        forms.add(name + GENITIVE_S)
    for lang in languages:
        for rule in SUFFIXES.get(lang, ()):
            old, _, new = rule.rpartition(">")
            if old and name.endswith(old):
                forms.add(name[: -len(old)] + new)
            elif not old:
                forms.add(name + new)
    forms.discard(name)
    return forms


def trie_pattern(words: Iterable[str]) -> str:
    """One regular expression matching any of `words`, longest first, as a trie of escaped
    characters: the engine follows one branch per character instead of trying every word."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return (body if len(branches) > 1 else "(?:" + body + ")") + "?"
        return body

    return build(root)


@dataclass(frozen=True)
class City:
    code: str
    name: str
    country: str


@dataclass
class Gazetteer:
    cities: dict[str, City]
    names: dict[str, set[str]]  # folded name -> codes (empty: a phrase that is not a place)
    hashtags: dict[str, set[str]]  # folded tag (without '#') -> codes
    common: set[str] = field(default_factory=set)  # folded names that are ordinary words
    source: Path | None = None
    fingerprint: str = ""
    only_in: dict[str, set[str]] = field(default_factory=dict)  # name -> the post languages
    lower_only: set[str] = field(default_factory=set)  # demonyms that count in lower case only

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
        inflected: dict[str, set[str]] = defaultdict(set)
        hashtags: dict[str, set[str]] = defaultdict(set)
        common: set[str] = set()
        only_in: dict[str, set[str]] = defaultdict(set)

        lower_only: set[str] = set()

        def add(
            name: str, code: str, flagged: bool, languages: list[str], kind: str = "other"
        ) -> None:
            restricted = _LANG_PREFIX.match(name)
            if restricted:
                name = restricted.group(2)
            # an Italian or Spanish demonym written in lower case ("napoletani") is a surname
            # when capitalised (Napolitano, Veronesi)
            if kind == "demonym" and name.islower():
                lower_only.update({fold(name), fold(strip_accents(name))})
            for variant in {fold(name), fold(strip_accents(name))}:
                variant = variant.strip()
                # two-letter "names" would match everywhere; numbers are not names
                if len(variant) < 3 or not any(ch.isalpha() for ch in variant):
                    continue
                names[variant].add(code)
                if restricted:
                    only_in[variant].add(restricted.group(1))
                if flagged or variant in COMMON_WORDS:
                    common.add(variant)
                    continue
                # the city's own case endings on its own names; exonyms (in other languages)
                # take the German genitive only; demonyms and slang are not inflected
                if kind in ("demonym", "slang"):
                    continue
                for form in inflections(variant, languages if kind == "native" else ()):
                    inflected[form].add(code)
                    if restricted:
                        only_in[form].add(restricted.group(1))

        for row in rows:
            code = _first(row, "city_code", "urau_code", "code").upper()
            if not re.fullmatch(r"[A-Z]{2}\d{3}[A-Z0-9]", code or ""):
                continue  # not an Urban Audit city code: skip the row rather than guess
            name = _first(row, "city_name", "name", "name_en", "label", "urau_name")
            country = _first(row, "country_code", "cntr_code", "country").upper() or code[:2]
            cities[code] = City(code, name or code, country)
            flagged = _truthy(_first(row, "common_word", "ambiguous"))
            languages = [lang for lang in _SPLIT.split(row.get("languages", "")) if lang]
            if name:
                add(name, code, flagged, languages)
            native = _first(row, "native_name", "name_native", "native")
            # the first native name is in the city's language; a second one (Vantaa/Vanda) is
            # in another, and takes only the genitive
            for i, part in enumerate(re.split(r"\s*/\s*|\s*[|;]\s*", native) if native else []):
                add(part, code, flagged, languages, "native" if i == 0 else "other")
            for column, kind in (
                ("other_names", "other"), ("exonyms", "other"), ("aliases", "other"),
                ("names", "other"), ("demonyms", "demonym"), ("slang", "slang"),
                ("slang_tags", "slang"), ("nicknames", "slang"),
            ):  # fmt: skip
                for part in _SPLIT.split(row.get(column, "")):
                    if part:
                        add(part.lstrip("#"), code, flagged, languages, kind)
            for part in _SPLIT.split(row.get("hashtags", "")):
                tag = fold(part.strip().lstrip("#"))
                for variant in {tag, strip_accents(tag)} if tag else ():
                    hashtags[variant].add(code)
        if not cities:
            raise ValueError(f"no city with an Urban Audit code in {path}")
        # an inflected form never stands for another city's name nor for an ordinary word
        for form, codes in inflected.items():
            if form not in names and form not in COMMON_WORDS:
                names[form] = codes
        for phrase in NOT_PLACES:
            names[phrase] = set()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return cls(
            cities, dict(names), dict(hashtags), common, path, digest, dict(only_in), lower_only
        )


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
        self._names = (
            re.compile(r"(?<!\w)(#?)(" + trie_pattern(self.gazetteer.names) + r")(?!\w)")
            if self.gazetteer.names
            else None
        )
        self._tags = (
            re.compile(r"#(" + trie_pattern(self.gazetteer.hashtags) + r")(?!\w)")
            if self.gazetteer.hashtags
            else None
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

    def _after_locative(self, folded: str, start: int) -> bool:
        last = _LAST_WORD.search(folded, max(0, start - 24), start)
        return bool(last) and last.group(1) in LOCATIVES

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
        gazetteer = self.gazetteer
        not_here = NOT_PLACES_IN.get(lang or "", frozenset())
        names_here = NAMES_IN.get(lang or "", frozenset())
        if self._names is not None:
            for m in self._names.finditer(folded.folded):
                hashtag, name = bool(m.group(1)), m.group(2)
                start = folded.start_of(m.start(2))
                codes = gazetteer.names[name]
                if not codes or (name in blocked and not hashtag):
                    continue
                if name in gazetteer.only_in and lang not in gazetteer.only_in[name]:
                    continue
                if name in not_here and not hashtag:
                    continue
                if name in gazetteer.lower_only and (
                    hashtag or not folded.original[start : folded.end_of(m.end(2))].islower()
                ):
                    continue
                if not hashtag and name.endswith("er") and _STREET.match(folded.folded, m.end(2)):
                    continue
                if not hashtag and _SURNAME_PARTICLE.search(
                    folded.original, max(0, start - 40), start
                ):
                    continue
                # an ordinary word is a place only as a hashtag, or capitalised mid-sentence
                # right after a locative word ("nach Essen", not "normales Essen")
                if (
                    name in gazetteer.common
                    and name not in names_here
                    and not hashtag
                    and not (
                        self._capitalised_mid_sentence(folded.original, start)
                        and self._after_locative(folded.folded, m.start(2))
                    )
                ):
                    continue
                code = self._resolve(codes, city_hint, country_hint)
                if code:
                    found[code]["hashtag" if hashtag else "text"] = True
        if self._tags is not None:
            for m in self._tags.finditer(folded.folded):
                code = self._resolve(gazetteer.hashtags[m.group(1)], city_hint, country_hint)
                if code:
                    found[code]["hashtag"] = True
        if city_hint in gazetteer.cities:
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


ANNOTATIONS = Path(__file__).parent / "data" / "city_annotations.csv"


@dataclass(frozen=True)
class PlaceScores:
    posts: int  # annotated posts found in the labelled corpora
    true_positives: int
    false_positives: int
    false_negatives: int
    errors: tuple[
        tuple[str, str, tuple[str, ...], tuple[str, ...]], ...
    ]  # dataset, text, want, got

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def evaluate_annotations(
    tagger: PlaceTagger | None = None,
    annotations: Path = ANNOTATIONS,
    root: Path | None = None,
) -> PlaceScores:
    """Precision and recall of the (post, city) pairs on the hand-annotated real posts.

    `city_annotations.csv` holds keys only (`dataset`, `key` = the first 16 hex digits of
    sha256("<dataset>\\0<text>") of the cleaned text, `city_codes` `|`-separated, empty for a
    post about no city); the texts stay in the labelled corpora (classifiers.labelled). Posts
    are tagged from their text and language alone, without source hints."""
    from classifiers import labelled

    root = root or labelled.LABELLED_DIR
    with annotations.open(encoding="utf-8", newline="") as f:
        wanted = {
            (row["dataset"], row["key"]): {c for c in row["city_codes"].split("|") if c}
            for row in csv.DictReader(f)
        }
    tagger = tagger or PlaceTagger()
    tp = fp = fn = posts = 0
    errors = []
    seen: set[tuple[str, str]] = set()
    for ex in [*labelled.hate_examples(root), *labelled.sentiment_examples(root)]:
        key = (ex.dataset, hashlib.sha256(f"{ex.dataset}\0{ex.text}".encode()).hexdigest()[:16])
        if key not in wanted or key in seen:
            continue
        seen.add(key)
        posts += 1
        got = {m.code for m in tagger.tag(ex.text, ex.lang)}
        want = wanted[key]
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
        if got != want:
            errors.append((ex.dataset, ex.text, tuple(sorted(want)), tuple(sorted(got))))
    return PlaceScores(posts, tp, fp, fn, tuple(errors))
