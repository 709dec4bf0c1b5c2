"""The project's integration-area annotations of real posts, joined with their texts.

The repository holds labels only (`classifiers/data/area_annotations*.csv`, keyed by dataset and
`labelled.key_of`); the texts are read from `../shared/data/labelled/` (docs/codebook.md says
how the posts were drawn and labelled). `corpus_of` groups the datasets into the corpora that
leave-one-dataset-out evaluation holds out in turn.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classifiers import labelled

DATA_DIR = Path(__file__).resolve().parent / "data"
ANNOTATIONS = DATA_DIR / "area_annotations.csv"
DOUBLE_ANNOTATIONS = DATA_DIR / "area_annotations_double.csv"
NONE = "none"


@dataclass(frozen=True)
class AnnotatedPost:
    dataset: str
    key: str
    lang: str
    text: str
    areas: frozenset[str]

    @property
    def corpus(self) -> str:
        return corpus_of(self.dataset)

    @property
    def split(self) -> str:
        return labelled.split_of(self.dataset, self.text)


def corpus_of(dataset: str) -> str:
    """The corpus a dataset belongs to: one publisher's collection, held out as a whole."""
    for prefix in ("hateval", "haspeede", "wuerzburg", "umsab"):
        if dataset.startswith(prefix):
            return prefix
    return dataset


def parse_areas(value: str, known: set[str], where: str) -> frozenset[str]:
    value = value.strip()
    if value == NONE:
        return frozenset()
    areas = frozenset(value.split("|"))
    unknown = sorted(areas - known)
    if unknown:
        raise ValueError(f"{where}: unknown area id(s) {unknown}")
    return areas


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load(area_ids: list[str], root: Path = labelled.LABELLED_DIR) -> list[AnnotatedPost]:
    """Every annotated post with its text; FileNotFoundError when the texts are absent."""
    texts: dict[tuple[str, str], labelled.Example] = {}
    for example in labelled.load("hate", root) + labelled.load("sentiment", root):
        texts.setdefault((example.dataset, labelled.key_of(example.dataset, example.text)), example)
    known = set(area_ids)
    posts = []
    for n, row in enumerate(_rows(ANNOTATIONS), 2):
        example = texts.get((row["dataset"], row["key"]))
        if example is None:
            raise ValueError(
                f"{ANNOTATIONS}:{n}: no post of {row['dataset']} has key {row['key']} "
                f"(is {root} the published version of the data?)"
            )
        areas = parse_areas(row["areas"], known, f"{ANNOTATIONS}:{n}")
        posts.append(AnnotatedPost(row["dataset"], row["key"], example.lang, example.text, areas))
    return posts


@dataclass(frozen=True)
class Agreement:
    area: str
    positives_a: int
    positives_b: int
    kappa: float | None  # None: no positive in either annotation


def cohen_kappa(a: list[bool], b: list[bool]) -> float | None:
    n = len(a)
    if not n or not (any(a) or any(b)):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def agreement(area_ids: list[str]) -> tuple[list[Agreement], int, int]:
    """Per-area Cohen's kappa of the two independent annotations (and 'any area'), the number of
    posts with identical label sets, and the number of doubly annotated posts."""
    known = set(area_ids)
    rows = _rows(DOUBLE_ANNOTATIONS)
    first = [parse_areas(r["annotator_a"], known, str(DOUBLE_ANNOTATIONS)) for r in rows]
    second = [parse_areas(r["annotator_b"], known, str(DOUBLE_ANNOTATIONS)) for r in rows]
    out = []
    for area in ["any area", *area_ids]:
        if area == "any area":
            a, b = [bool(x) for x in first], [bool(y) for y in second]
        else:
            a, b = [area in x for x in first], [area in y for y in second]
        out.append(Agreement(area, sum(a), sum(b), cohen_kappa(a, b)))
    same = sum(x == y for x, y in zip(first, second, strict=True))
    return out, same, len(rows)
