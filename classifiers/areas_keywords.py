"""Integration areas by taxonomy keywords: the first, transparent area tagger.

The keywords are data (`dbt/seeds/area_keywords.csv`, columns area_id, lang, keyword), so an
analyst adds a keyword or an area without touching code; the model version is derived from the
file's content, so any edit is a new version and the marts switch to it explicitly.

Matching rule (the demo generator relies on the same rule): Unicode case folding of text and
keyword, whole-word match (no letter or digit directly before or after), any language.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from monitor.settings import REPO_ROOT

KEYWORDS_FILE = REPO_ROOT / "dbt" / "seeds" / "area_keywords.csv"


def load_keywords(path: Path = KEYWORDS_FILE) -> dict[str, set[str]]:
    """keyword (case-folded) -> the areas it signals."""
    if not path.exists():
        raise FileNotFoundError(f"taxonomy keywords not found: {path}")
    keywords: dict[str, set[str]] = defaultdict(set)
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            keyword = row["keyword"].strip().casefold()
            if keyword:
                keywords[keyword].add(row["area_id"].strip())
    if not keywords:
        raise ValueError(f"no keywords in {path}")
    return dict(keywords)


class AreaKeywordTask:
    task = "areas"
    output_table = "ml.post_areas"
    output_columns = ("post_id", "model_version", "area_id", "score")

    def __init__(self, path: Path = KEYWORDS_FILE) -> None:
        self._areas = load_keywords(path)
        # Longest first, so a multi-word keyword wins over a keyword it contains.
        alternation = "|".join(re.escape(k) for k in sorted(self._areas, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.model_version = f"keywords-{digest}"
        self.description = f"taxonomy keyword match ({len(self._areas)} keywords, {path.name})"

    def areas(self, text: str) -> list[str]:
        found: set[str] = set()
        for match in self._pattern.finditer(text.casefold()):
            found |= self._areas[match.group(0)]
        return sorted(found)

    def predict(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        # A keyword match is a yes/no signal; the score column is for the learned heads to come.
        return [[(area, 1.0) for area in self.areas(text)] for text in texts]
