"""Integration areas by taxonomy keywords: the first, transparent area tagger.

The keywords are data (`dbt/seeds/area_keywords.csv`, columns area_id, lang, keyword), so an
analyst adds a keyword or an area without touching code; the model version is derived from the
file's content, so any edit is a new version and the marts switch to it explicitly.

Matching rule (the demo generator relies on the same rule): NFC normalisation and Unicode case
folding of text and keyword, whole-word match (no word character directly before or after), with
the keywords of the post's language: keywords are vocabulary, and one language's keyword can be
another language's place name (the English keyword "roma" is Italian for Rome). A post whose
language is undetermined is matched against every language.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from core import reference
from core.text import fold

KEYWORDS_FILE = reference.seed_file("area_keywords.csv")


def load_keywords(path: Path = KEYWORDS_FILE) -> dict[str, dict[str, set[str]]]:
    """language -> keyword (normalised) -> the areas it signals."""
    if not path.exists():
        raise FileNotFoundError(f"taxonomy keywords not found: {path}")
    keywords: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            keyword = fold(row["keyword"].strip())
            if keyword:
                keywords[row["lang"].strip()][keyword].add(row["area_id"].strip())
    if not keywords:
        raise ValueError(f"no keywords in {path}")
    return {lang: dict(words) for lang, words in keywords.items()}


def _pattern(keywords: set[str]) -> re.Pattern[str]:
    # Longest first, so a multi-word keyword wins over a keyword it contains.
    alternation = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


class AreaKeywordTask:
    task = "areas"
    output_table = "ml.post_areas"
    output_columns = ("post_id", "model_version", "area_id", "score")

    def __init__(self, path: Path = KEYWORDS_FILE) -> None:
        self._by_lang = load_keywords(path)
        self._any_lang: dict[str, set[str]] = defaultdict(set)
        for words in self._by_lang.values():
            for keyword, areas in words.items():
                self._any_lang[keyword] |= areas
        self._patterns = {lang: _pattern(set(words)) for lang, words in self._by_lang.items()}
        self._any_pattern = _pattern(set(self._any_lang))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.model_version = f"keywords-{digest}"
        self.description = (
            f"taxonomy keyword match ({len(self._any_lang)} keywords in "
            f"{len(self._by_lang)} languages, {path.name})"
        )

    def areas(self, text: str, lang: str | None = None) -> list[str]:
        if lang in self._patterns:
            pattern, areas_of = self._patterns[lang], self._by_lang[lang]
        else:
            pattern, areas_of = self._any_pattern, self._any_lang
        found: set[str] = set()
        for match in pattern.finditer(fold(text)):
            found |= areas_of[match.group(0)]
        return sorted(found)

    def predict(
        self, texts: Sequence[str], langs: Sequence[str | None]
    ) -> list[list[tuple[str, float]]]:
        # A keyword match is a yes/no signal; the score column is for the learned heads to come.
        return [
            [(area, 1.0) for area in self.areas(text, lang)]
            for text, lang in zip(texts, langs, strict=True)
        ]
