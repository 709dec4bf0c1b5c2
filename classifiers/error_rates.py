"""Measured classifier errors, per class and language, for the warehouse's corrected shares.

A classify-and-count share (the share of posts tagged with an area, hate speech, negative
sentiment) is biased by the classifier's errors; the marts correct it with the true- and
false-positive rates of the model that produced it ("adjusted classify-and-count"). Those rates
come from the cross-dataset evaluation (`python -m classifiers evaluate`: each post predicted by
a model that never saw its corpus or language), are stored as confusion counts rather than rates
(so that the marts can also say how uncertain a rate is) and are stamped with the deployed model
version they belong to:

    classifiers/heads/error_rates.json
    {"areas": {"model_version": "...", "evaluation": "leave one corpus out (...)",
               "counts": {"<lang>": {"<class>": [tp, fn, fp, tn]}, ..., "*": {...}}},
     "hate": {...}, "sentiment": {...}}

`lang` is the posts' language (ISO 639-1, "und" when undetermined) or "*" for all languages
pooled. Classes: the area ids (task "areas"), "hate" (task "hate"), "negative" (task
"sentiment", against neutral and positive). `classifiers.bundle.Classifier` loads the file and
keeps only the tasks whose stamp is the deployed version; `classifiers.warehouse.register`
writes those rows into ml.classifier_error_rates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FILE = "error_rates.json"
ALL_LANGUAGES = "*"
UNDETERMINED = "und"
TASK_CLASSES = {"hate": "hate", "sentiment": "negative"}  # the areas' classes are the area ids

Counts = dict[str, dict[str, list[int]]]  # lang -> class -> [tp, fn, fp, tn]
Row = tuple[str, str, str, str, int, int, int, int, str]
COLUMNS = (
    "task", "model_version", "class", "lang",
    "true_positives", "false_negatives", "false_positives", "true_negatives", "evaluation",
)  # fmt: skip


def _confusion(truth: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    """[tp, fn, fp, tn] per column of two (posts, classes) boolean arrays."""
    tp = (truth & pred).sum(axis=0)
    fn = (truth & ~pred).sum(axis=0)
    fp = (~truth & pred).sum(axis=0)
    tn = (~truth & ~pred).sum(axis=0)
    return [[int(a), int(b), int(c), int(d)] for a, b, c, d in zip(tp, fn, fp, tn, strict=True)]


def confusion_counts(
    truth: Any, pred: Any, langs: Sequence[str | None], classes: Sequence[str] | str
) -> Counts:
    """Confusion counts per language and pooled ("*") of boolean truth and prediction arrays.

    `truth` and `pred` are (posts,) for one class (`classes` its name) or (posts, classes);
    `langs` gives each post's language (None counts as "und")."""
    names = [classes] if isinstance(classes, str) else list(classes)
    t = np.asarray(truth, dtype=bool).reshape(len(langs), -1)
    p = np.asarray(pred, dtype=bool).reshape(len(langs), -1)
    if t.shape != p.shape or t.shape[1] != len(names):
        raise ValueError(f"truth {t.shape}, prediction {p.shape} and {len(names)} classes differ")
    lang = np.array([lg or UNDETERMINED for lg in langs], dtype=object)
    out: Counts = {}
    for key in [*sorted(set(lang)), ALL_LANGUAGES]:
        rows = np.ones(len(lang), dtype=bool) if key == ALL_LANGUAGES else lang == key
        out[key] = dict(zip(names, _confusion(t[rows], p[rows]), strict=True))
    return out


def entry(model_version: str, evaluation: str, counts: Counts) -> dict[str, Any]:
    """One task's part of the file."""
    return {"model_version": model_version, "evaluation": evaluation, "counts": counts}


def dump(rates: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Write `rates` (task -> entry) deterministically, as the other files of the heads folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rates, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, dict[str, Any]]:
    """task -> {"model_version", "evaluation", "counts"}; {} when the file does not exist."""
    if not path.exists():
        return {}
    rates = json.loads(path.read_text(encoding="utf-8"))
    for task, e in rates.items():
        missing = {"model_version", "evaluation", "counts"} - set(e)
        if missing:
            raise ValueError(f"{path}: task {task!r} lacks {sorted(missing)}")
        for lang, by_class in e["counts"].items():
            for cls, c in by_class.items():
                if len(c) != 4 or any(not isinstance(x, int) or x < 0 for x in c):
                    raise ValueError(f"{path}: {task}/{lang}/{cls}: need 4 counts >= 0, got {c}")
    return rates


def rows(rates: Mapping[str, Mapping[str, Any]], tasks: Iterable[str] | None = None) -> list[Row]:
    """Rows of ml.classifier_error_rates (COLUMNS order) of `tasks` (default every task)."""
    out: list[Row] = []
    for task in sorted(rates if tasks is None else set(tasks) & set(rates)):
        e = rates[task]
        for lang in sorted(e["counts"]):
            for cls, (tp, fn, fp, tn) in sorted(e["counts"][lang].items()):
                out.append((task, e["model_version"], cls, lang, tp, fn, fp, tn, e["evaluation"]))
    return out


def rate(num: int, den: int) -> float:
    return num / den if den else float("nan")


def tpr_fpr(c: Sequence[int]) -> tuple[float, float]:
    """(true-positive rate, false-positive rate) of [tp, fn, fp, tn]; NaN without posts."""
    tp, fn, fp, tn = c
    return rate(tp, tp + fn), rate(fp, fp + tn)
