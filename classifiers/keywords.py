"""Tracked terms with keyword-in-context (KWIC) windows: the taxonomy keywords and a watch list.

- Taxonomy keywords (`dbt/seeds/area_keywords.csv`) of the post's language (every language when
  it is undetermined), with the area each one signals.
- A watch list: a CSV `term,lang,category` (lang empty or `*` = any language), by default
  `classifiers/watchlist.csv`, or the file named by `MONITOR_WATCHLIST`. Analysts add terms
  there, e.g. slurs or dog-whistles seen in hate speech; the file's content is part of the model
  version, so a change re-tags every post explicitly.

Matching is the project's rule (NFC + casefold, whole words, see core.text.fold). Windows are cut
from the scrubbed text (`core.privacy.scrub_text` is applied first: idempotent on warehouse
text, and it protects people named in files classified with the CLI), `WINDOW` characters on
each side, widened to whole words and marked with "…" where cut. At most `MAX_HITS` hits per post
so a 100 KB text cannot flood the table.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classifiers.areas_keywords import KEYWORDS_FILE
from core.privacy import scrub_text
from core.settings import load_settings
from core.text import FoldedText, fold

WATCHLIST_FILE = Path(__file__).resolve().parent / "watchlist.csv"
WINDOW = 60
MAX_HITS = 50
RULES_VERSION = "k1"


@dataclass(frozen=True)
class KeywordHit:
    keyword: str  # as matched (folded form of the term)
    kind: str  # "taxonomy" | "watchlist"
    label: str  # area id (taxonomy) or category (watch list)
    start: int  # character offset in the scrubbed text
    context: str

    def to_json(self) -> dict[str, object]:
        return {
            "keyword": self.keyword,
            "kind": self.kind,
            "label": self.label,
            "start": self.start,
            "context": self.context,
        }


def watchlist_path() -> Path:
    return load_settings().watchlist or WATCHLIST_FILE


def _read(path: Path, term_col: str, label_col: str) -> dict[str, dict[str, set[str]]]:
    """lang ('*' = any) -> folded term -> labels."""
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with path.open(encoding="utf-8-sig", newline="") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            if term_col not in row:
                raise ValueError(f"{path}: needs a {term_col!r} column (line {n})")
            term = fold((row.get(term_col) or "").strip())
            if term:
                lang = (row.get("lang") or "").strip() or "*"
                out[lang][term].add((row.get(label_col) or "").strip())
    return out


def _pattern(terms: set[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


def kwic(text: str, start: int, end: int, window: int = WINDOW) -> str:
    """The match with up to `window` characters each side, widened to whole words."""
    left = max(0, start - window)
    right = min(len(text), end + window)
    while left > 0 and not text[left - 1].isspace() and start - left < window + 20:
        left -= 1
    while right < len(text) and not text[right].isspace() and right - end < window + 20:
        right += 1
    snippet = " ".join(text[left:right].split())  # one line: no tabs or newlines in a context
    return ("…" if left > 0 else "") + snippet + ("…" if right < len(text) else "")


class KeywordTracker:
    task = "keywords"

    def __init__(self, keywords_file: Path = KEYWORDS_FILE, watchlist: Path | None = None) -> None:
        watchlist = watchlist or watchlist_path()
        for path in (keywords_file, watchlist):
            if not path.exists():
                raise FileNotFoundError(f"keyword file not found: {path}")
        self._taxonomy = _read(keywords_file, "keyword", "area_id")
        self._watch = _read(watchlist, "term", "category")
        self._tax_patterns = {lang: _pattern(set(t)) for lang, t in self._taxonomy.items()}
        all_tax: dict[str, set[str]] = defaultdict(set)
        for terms in self._taxonomy.values():
            for term, labels in terms.items():
                all_tax[term] |= labels
        self._tax_any = dict(all_tax)
        self._tax_any_pattern = _pattern(set(all_tax))
        self._watch_patterns = {lang: _pattern(set(t)) for lang, t in self._watch.items()}
        h = hashlib.sha256(keywords_file.read_bytes())
        h.update(b"\0" + watchlist.read_bytes())
        self.version = f"kwic-{h.hexdigest()[:12]}-{RULES_VERSION}"
        n_watch = sum(len(t) for t in self._watch.values())
        self.description = (
            f"taxonomy keywords ({len(all_tax)}) + watch list {watchlist.name} ({n_watch} terms), "
            f"KWIC ±{WINDOW} characters from scrubbed text"
        )

    def track(self, text: str, lang: str | None = None) -> list[KeywordHit]:
        scrubbed = scrub_text(text or "")
        folded = FoldedText(scrubbed)
        hits: list[KeywordHit] = []
        if lang in self._tax_patterns:
            jobs = [("taxonomy", self._tax_patterns[lang], self._taxonomy[lang])]
        else:
            jobs = [("taxonomy", self._tax_any_pattern, self._tax_any)]
        for wl_lang, pattern in self._watch_patterns.items():
            if wl_lang == "*" or wl_lang == lang or lang not in self._tax_patterns:
                jobs.append(("watchlist", pattern, self._watch[wl_lang]))
        seen: set[tuple[str, int]] = set()
        for kind, pattern, labels in jobs:
            if pattern is None:
                continue
            for m in pattern.finditer(folded.folded):
                start, end = folded.start_of(m.start()), folded.end_of(m.end())
                if (m.group(0), start) in seen:
                    continue
                seen.add((m.group(0), start))
                for label in sorted(labels[m.group(0)]):
                    hits.append(
                        KeywordHit(
                            m.group(0), kind, label, start, kwic(folded.original, start, end)
                        )
                    )
                if len(hits) >= MAX_HITS:
                    return hits[:MAX_HITS]
        hits.sort(key=lambda h: (h.start, h.kind, h.label))
        return hits

    def track_many(
        self, texts: Sequence[str], langs: Sequence[str | None]
    ) -> list[list[KeywordHit]]:
        return [self.track(t, lang) for t, lang in zip(texts, langs, strict=True)]
