"""Integration areas: multi-label, one calibrated score per area, zero-/few-shot on the shared
encoder, driven by the taxonomy seeds (no area or keyword lives in code).

Inputs (data, editable by analysts):
- `dbt/seeds/integration_areas.csv`: area_id, label, description (English). Extra description
  columns named `description_<lang>` are used too, as is an optional seed
  `dbt/seeds/area_descriptions.csv` (area_id, lang, description), when someone adds them.
- `dbt/seeds/area_keywords.csv`: area_id, lang, keyword.

How a post is scored, per area a:
1. Prototypes: the embedding of each description ("<label>: <description>") and of each
   keyword, in every language. They are embedded once when the model loads (~900 short texts,
   a few seconds) and cached in memory.
2. Semantic score: s_a = 0.5 * max cos(post, descriptions of a) + 0.5 * mean of the 3 highest
   cos(post, keywords of a). e5 cosines all sit in a narrow band (~0.7-0.9) and some posts are
   close to everything, so the score is centred per post: z_a = s_a - mean over areas of s_b.
3. Calibration: p_a = sigmoid(slope_a * (z_a - offset_a)), fitted per area by `train` on the
   synthetic demo posts (their labels are the keyword rule, docs/demo-data.md), with a decision
   threshold per area that maximises F1 there. An area without calibration (an analyst just
   added it) uses the median parameters of the others: it works at once, and `train`
   recalibrates it.
4. Decision: the semantic score alone tags at most `MAX_SEMANTIC_AREAS` (1) area per post, its
   best one, when p_a >= threshold_a; further areas need keyword evidence. A whole-word keyword
   match in the post's language (the transparent rule of `areas_keywords.py`) always tags the
   area, with score max(p_a, KEYWORD_FLOOR). Why top-1: cosine similarity ranks areas well but
   separates "also about" poorly; on the demo posts and on the test set, allowing 2 or 3
   semantic areas lowered micro-F1 (docs/evaluation.md reports all three).

Area ids, keywords and descriptions enter the model version (`AreaModel.version`), so any seed
edit is a new version and the marts switch to it explicitly.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.areas_keywords import AreaKeywordTask
from core import reference

if TYPE_CHECKING:
    from classifiers.encoder.model import Encoder

KEYWORD_FLOOR = 0.9
TOP_K_KEYWORDS = 3
DEFAULT_SLOPE = 40.0
DEFAULT_OFFSET = 0.03
DEFAULT_THRESHOLD = 0.5
MAX_SEMANTIC_AREAS = 1


@dataclass(frozen=True)
class Area:
    area_id: str
    label: str
    descriptions: tuple[str, ...]  # "<label>: <description>" in each language available
    keywords: tuple[str, ...]  # every language


@dataclass
class Taxonomy:
    areas: list[Area]
    keywords_file: Path
    fingerprint: str

    @property
    def ids(self) -> list[str]:
        return [a.area_id for a in self.areas]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)
        ]


def load_taxonomy(seeds_dir: Path | None = None, keywords_file: Path | None = None) -> Taxonomy:
    """Areas, descriptions and keywords from the dbt seeds; clear errors when they are missing."""
    seeds_dir = seeds_dir or reference.seeds_dir()
    areas_file = seeds_dir / "integration_areas.csv"
    keywords_file = keywords_file or seeds_dir / "area_keywords.csv"
    for path in (areas_file, keywords_file):
        if not path.exists():
            raise FileNotFoundError(f"taxonomy seed not found: {path}")
    rows = _read_csv(areas_file)
    if not rows or "area_id" not in rows[0]:
        raise ValueError(f"{areas_file} needs an area_id column")
    descriptions: dict[str, list[str]] = defaultdict(list)
    labels: dict[str, str] = {}
    for row in rows:
        area = row["area_id"]
        labels[area] = row.get("label") or area.replace("_", " ")
        for column, value in row.items():
            if column.startswith("description") and value:
                descriptions[area].append(f"{labels[area]}: {value}")
    extra = seeds_dir / "area_descriptions.csv"
    if extra.exists():
        for row in _read_csv(extra):
            if row.get("area_id") in labels and row.get("description"):
                descriptions[row["area_id"]].append(
                    f"{labels[row['area_id']]}: {row['description']}"
                )
    keywords: dict[str, set[str]] = defaultdict(set)
    for row in _read_csv(keywords_file):
        if row.get("area_id") and row.get("keyword"):
            keywords[row["area_id"]].add(row["keyword"].casefold())
    unknown = sorted(set(keywords) - set(labels))
    if unknown:
        raise ValueError(f"{keywords_file} has keywords of areas not in {areas_file}: {unknown}")
    areas = [
        Area(
            area_id=a,
            label=labels[a],
            descriptions=tuple(descriptions[a]) or (labels[a],),
            keywords=tuple(sorted(keywords[a])),
        )
        for a in labels
    ]
    h = hashlib.sha256()
    for a in areas:
        h.update(json.dumps([a.area_id, a.descriptions, a.keywords], ensure_ascii=False).encode())
    return Taxonomy(areas=areas, keywords_file=keywords_file, fingerprint=h.hexdigest()[:12])


@dataclass
class Calibration:
    """Per-area logistic calibration of the centred semantic score, and decision thresholds."""

    slope: dict[str, float] = field(default_factory=dict)
    offset: dict[str, float] = field(default_factory=dict)
    threshold: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def params(self, area_id: str) -> tuple[float, float, float]:
        if area_id in self.slope:
            return self.slope[area_id], self.offset[area_id], self.threshold[area_id]
        if self.slope:  # an area added after calibration: the median of the others
            return (
                float(np.median(list(self.slope.values()))),
                float(np.median(list(self.offset.values()))),
                float(np.median(list(self.threshold.values()))),
            )
        return DEFAULT_SLOPE, DEFAULT_OFFSET, DEFAULT_THRESHOLD

    def to_json(self) -> dict[str, Any]:
        return {
            "slope": self.slope,
            "offset": self.offset,
            "threshold": self.threshold,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            slope={k: float(v) for k, v in data.get("slope", {}).items()},
            offset={k: float(v) for k, v in data.get("offset", {}).items()},
            threshold={k: float(v) for k, v in data.get("threshold", {}).items()},
            meta=dict(data.get("meta", {})),
        )


class AreaModel:
    """Scores posts (their embeddings and texts) against the taxonomy."""

    def __init__(
        self,
        encoder: Encoder,
        taxonomy: Taxonomy | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        self.calibration = calibration or Calibration()
        self.keywords = AreaKeywordTask(self.taxonomy.keywords_file)
        self.area_ids = self.taxonomy.ids
        texts: list[str] = []
        owner: list[tuple[int, str]] = []  # (area index, "d" description | "k" keyword)
        for i, area in enumerate(self.taxonomy.areas):
            texts += list(area.descriptions)
            owner += [(i, "d")] * len(area.descriptions)
            texts += list(area.keywords)
            owner += [(i, "k")] * len(area.keywords)
        self._protos = encoder.embed(texts, batch_size=128) if texts else np.zeros((0, encoder.dim))
        self._desc_idx = [
            [j for j, (i, k) in enumerate(owner) if i == a and k == "d"]
            for a in range(len(self.area_ids))
        ]
        self._kw_idx = [
            [j for j, (i, k) in enumerate(owner) if i == a and k == "k"]
            for a in range(len(self.area_ids))
        ]
        slope, offset, threshold = zip(
            *(self.calibration.params(a) for a in self.area_ids), strict=True
        )
        self._slope = np.array(slope, dtype=np.float64)
        self._offset = np.array(offset, dtype=np.float64)
        self.thresholds = np.array(threshold, dtype=np.float64)
        calib = hashlib.sha256(
            json.dumps(self.calibration.to_json(), sort_keys=True).encode()
        ).hexdigest()
        self.version = f"areas-zs-{self.taxonomy.fingerprint}-{calib[:8]}"

    def semantic(self, vectors: np.ndarray) -> np.ndarray:
        """Centred semantic scores z [n, n_areas] (before calibration)."""
        n = len(vectors)
        s = np.zeros((n, len(self.area_ids)), dtype=np.float64)
        if n == 0 or not len(self._protos):
            return s
        sims = vectors @ self._protos.T
        for a in range(len(self.area_ids)):
            parts = []
            if self._desc_idx[a]:
                parts.append(sims[:, self._desc_idx[a]].max(axis=1))
            if self._kw_idx[a]:
                kw = sims[:, self._kw_idx[a]]
                k = min(TOP_K_KEYWORDS, kw.shape[1])
                parts.append(np.sort(kw, axis=1)[:, -k:].mean(axis=1))
            s[:, a] = np.mean(parts, axis=0)
        return s - s.mean(axis=1, keepdims=True)

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._slope * (z - self._offset)))

    def keyword_hits(self, texts: Sequence[str], langs: Sequence[str | None]) -> np.ndarray:
        hits = np.zeros((len(texts), len(self.area_ids)), dtype=bool)
        index = {a: i for i, a in enumerate(self.area_ids)}
        for row, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            for area in self.keywords.areas(text or "", lang):
                if area in index:
                    hits[row, index[area]] = True
        return hits

    def predict(
        self, vectors: np.ndarray, texts: Sequence[str], langs: Sequence[str | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores [n, n_areas] in [0, 1], tagged [n, n_areas] bool)."""
        p = self.probabilities(self.semantic(vectors))
        hits = self.keyword_hits(texts, langs)
        scores = np.where(hits, np.maximum(p, KEYWORD_FLOOR), p)
        tagged = hits | (top_mask(p, MAX_SEMANTIC_AREAS) & (p >= self.thresholds))
        return scores, tagged


def top_mask(p: np.ndarray, k: int) -> np.ndarray:
    """True at each row's k highest entries."""
    mask = np.zeros(p.shape, dtype=bool)
    if p.size and k > 0:
        np.put_along_axis(mask, np.argsort(-p, axis=1)[:, :k], True, axis=1)
    return mask


def fit_calibration(
    z: np.ndarray, labels: np.ndarray, area_ids: Sequence[str], meta: dict[str, Any]
) -> Calibration:
    """Per-area 1-D logistic fit of labels on z, then the threshold that maximises the area's F1
    under the decision rule (only a post's top semantic area can be tagged by semantics).

    Areas with fewer than 10 positives keep the defaults (they would be fitted on noise).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    cal = Calibration(meta=dict(meta))
    fitted = []
    for a, area in enumerate(area_ids):
        y = labels[:, a]
        if y.sum() < 10 or (~y).sum() < 10:
            continue
        lr = LogisticRegression(C=100.0).fit(z[:, a : a + 1], y)
        slope = float(lr.coef_[0, 0])
        if slope <= 0:  # a prototype that anti-correlates with its own area: keep defaults
            continue
        cal.slope[area], cal.offset[area] = slope, float(-lr.intercept_[0] / slope)
        fitted.append(a)
    # thresholds under the decision rule, which ranks the *calibrated* scores of all areas
    med_slope = float(np.median(list(cal.slope.values()))) if cal.slope else DEFAULT_SLOPE
    med_offset = float(np.median(list(cal.offset.values()))) if cal.offset else DEFAULT_OFFSET
    slope_v = np.array([cal.slope.get(area, med_slope) for area in area_ids])
    offset_v = np.array([cal.offset.get(area, med_offset) for area in area_ids])
    p = 1.0 / (1.0 + np.exp(-slope_v * (z - offset_v)))
    top = top_mask(p, MAX_SEMANTIC_AREAS)
    grid = np.linspace(0.05, 0.95, 91)
    for a in fitted:
        y = labels[:, a]
        cal.threshold[area_ids[a]] = float(
            max(grid, key=lambda t: f1_score(y, top[:, a] & (p[:, a] >= t), zero_division=0))
        )
    return cal


def read_testset(path: Path) -> list[tuple[str, list[str], str]]:
    """The project-written area test set: (lang, areas, text) per post."""
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path}:{n}: expected lang<TAB>areas<TAB>text")
            lang, areas, text = parts
            out.append((lang, [] if areas == "-" else areas.split("|"), text))
    return out
