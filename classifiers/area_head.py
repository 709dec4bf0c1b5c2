"""Supervised integration-area head: a per-area linear model trained on annotated real posts.

Features of a post (all from the one shared encoder pass and the taxonomy seeds):
[e5 sentence embedding (384), the 19 centred zero-shot scores `AreaModel.semantic`, the 19
keyword-lexicon hits `AreaModel.keyword_hits`], standardised with the training posts' mean and
standard deviation. Per area, a ridge regression on the 0/1 label (weighted: positives count
`class_weight` times), and a decision threshold on its output. Optionally the keyword rule stays
on top (a whole-word keyword of the post's language tags its area).

Model selection (`fit`): ridge strength, positive weight and the keyword rule are chosen by
5-fold cross-validation on the training posts only, maximising micro-F1 over areas; the
per-area thresholds come from the same out-of-fold outputs (an area with fewer than
`MIN_THRESHOLD_POSITIVES` out-of-fold positives gets the pooled threshold of all areas). The
final head is refitted on every training post.

Inference is numpy only. The artefact `classifiers/heads/areas.npz` (float32 weights, the
standardisation, thresholds, JSON metadata) is a few tens of KB; its content and the taxonomy
fingerprint form the areas model version, so a retrained head is a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.linear_head import EncoderMismatch

FILE = "areas.npz"
CV_FOLDS = 5
CV_SEED = 0
RIDGE_GRID = (1000.0, 3000.0, 10000.0)
CLASS_WEIGHT_GRID = (1.0, 3.0)
KEYWORD_RULE_GRID = (False, True)
MIN_THRESHOLD_POSITIVES = 5
# candidate thresholds on the ridge output (a 0/1 regression: ~ a probability)
THRESHOLD_GRID = np.round(np.linspace(0.05, 0.95, 91), 2)


@dataclass(frozen=True)
class Config:
    ridge: float
    class_weight: float
    keyword_rule: bool


@dataclass
class AreaHead:
    area_ids: list[str]
    weights: np.ndarray  # [n_areas, n_features]
    bias: np.ndarray  # [n_areas]
    mean: np.ndarray  # [n_features] feature standardisation
    scale: np.ndarray  # [n_features]
    thresholds: np.ndarray  # [n_areas], on the ridge output
    slopes: np.ndarray  # [n_areas]: score = sigmoid(slope * (output - threshold))
    keyword_rule: bool
    encoder_version: str
    taxonomy: str  # taxonomy fingerprint the z and keyword features were computed with
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        h = hashlib.sha256()
        for arr in (self.weights, self.bias, self.mean, self.scale, self.thresholds, self.slopes):
            h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
        h.update(
            json.dumps(
                [self.area_ids, self.keyword_rule, self.encoder_version, self.taxonomy]
            ).encode()
        )
        return f"areas-lin-{self.taxonomy}-{h.hexdigest()[:12]}"

    def check_encoder(self, encoder_version: str) -> None:
        """Refuse an encoder other than the one the head was trained on (its vectors differ)."""
        if encoder_version != self.encoder_version:
            raise EncoderMismatch(
                f"the area head was trained on {self.encoder_version!r}, the encoder is "
                f"{encoder_version!r}: retrain with `python -m classifiers train`"
            )

    def output(self, vectors: np.ndarray, z: np.ndarray, hits: np.ndarray) -> np.ndarray:
        x = (features(vectors, z, hits) - self.mean) / self.scale
        return x @ self.weights.T + self.bias

    def predict(
        self, vectors: np.ndarray, z: np.ndarray, hits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores [n, n_areas] in [0, 1], 0.5 at the threshold; tagged [n, n_areas] bool)."""
        out = self.output(vectors, z, hits)
        tagged = out >= self.thresholds
        scores = 1.0 / (1.0 + np.exp(-self.slopes * (out - self.thresholds)))
        if self.keyword_rule:
            tagged = tagged | hits
            scores = np.where(hits, np.maximum(scores, 0.5), scores)
        return scores, tagged

    def save(self, path: Path) -> None:
        meta = {
            "area_ids": self.area_ids,
            "keyword_rule": self.keyword_rule,
            "encoder_version": self.encoder_version,
            "taxonomy": self.taxonomy,
            "meta": self.meta,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            k: np.asarray(getattr(self, k), dtype=np.float32)
            for k in ("weights", "bias", "mean", "scale", "thresholds", "slopes")
        }
        with path.open("wb") as f:
            np.savez_compressed(
                f, **arrays, meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True))
            )

    @classmethod
    def load(cls, path: Path) -> AreaHead:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {
                k: data[k].astype(np.float32)
                for k in ("weights", "bias", "mean", "scale", "thresholds", "slopes")
            }
        return cls(
            area_ids=list(meta["area_ids"]),
            keyword_rule=bool(meta["keyword_rule"]),
            encoder_version=meta["encoder_version"],
            taxonomy=meta["taxonomy"],
            meta=meta.get("meta", {}),
            **arrays,
        )


def features(vectors: np.ndarray, z: np.ndarray, hits: np.ndarray) -> np.ndarray:
    return np.hstack([vectors.astype(np.float32), z.astype(np.float32), hits.astype(np.float32)])


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float, class_weight: float) -> np.ndarray:
    """Weighted ridge per area on standardised x: [n_areas, n_features + 1] (last: bias)."""
    x1 = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    penalty = ridge * np.eye(x1.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    betas = []
    for a in range(y.shape[1]):
        w = np.where(y[:, a], class_weight, 1.0)
        xw = x1 * w[:, None]
        betas.append(np.linalg.solve(xw.T @ x1 + penalty, xw.T @ y[:, a].astype(np.float64)))
    return np.array(betas)


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-6, scale, 1.0)


def _fit_predict(
    x_fit: np.ndarray, y_fit: np.ndarray, x_new: np.ndarray, cfg: Config
) -> np.ndarray:
    mean, scale = _standardise(x_fit)
    beta = _ridge((x_fit - mean) / scale, y_fit, cfg.ridge, cfg.class_weight)
    return ((x_new - mean) / scale) @ beta[:, :-1].T + beta[:, -1]


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float((y & pred).sum())
    denom = float(y.sum() + pred.sum())
    return 2 * tp / denom if denom else 0.0


def choose_thresholds(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-area threshold on the ridge output maximising the area's F1 on out-of-fold outputs;
    areas with fewer than `MIN_THRESHOLD_POSITIVES` positives get the one threshold that
    maximises micro-F1 over all areas."""
    pooled = max(THRESHOLD_GRID, key=lambda t: _f1(y, out >= t))
    th = np.full(y.shape[1], pooled)
    for a in range(y.shape[1]):
        if y[:, a].sum() >= MIN_THRESHOLD_POSITIVES:
            th[a] = max(THRESHOLD_GRID, key=lambda t, a=a: _f1(y[:, a], out[:, a] >= t))
    return th


def _platt_slopes(out: np.ndarray, y: np.ndarray, th: np.ndarray) -> np.ndarray:
    """Slope of a 1-D logistic fit of the label on (output - threshold), per area (a positive
    default where an area has too few positives)."""
    from sklearn.linear_model import LogisticRegression

    slopes = np.full(y.shape[1], 10.0)
    for a in range(y.shape[1]):
        if y[:, a].sum() >= MIN_THRESHOLD_POSITIVES:
            lr = LogisticRegression(C=100.0).fit((out[:, a] - th[a])[:, None], y[:, a])
            slopes[a] = max(float(lr.coef_[0, 0]), 1.0)
    return slopes


def _folds(n: int, seed: int = CV_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold

    return list(KFold(CV_FOLDS, shuffle=True, random_state=seed).split(np.arange(n)))


def fit(
    vectors: np.ndarray,
    z: np.ndarray,
    hits: np.ndarray,
    y: np.ndarray,
    area_ids: Sequence[str],
    *,
    encoder_version: str,
    taxonomy: str,
    ridge_grid: Sequence[float] = RIDGE_GRID,
    class_weight_grid: Sequence[float] = CLASS_WEIGHT_GRID,
    keyword_rule_grid: Sequence[bool] = KEYWORD_RULE_GRID,
    progress: Callable[[str], None] = lambda msg: None,
) -> AreaHead:
    """Select the configuration by cross-validation on these (training) posts, then refit."""
    x = features(vectors, z, hits).astype(np.float64)
    y = np.asarray(y, dtype=bool)
    hits = np.asarray(hits, dtype=bool)
    folds = _folds(len(x))
    cv: dict[str, float] = {}
    best: tuple[float, Config, np.ndarray, np.ndarray] | None = None
    for ridge, weight in product(ridge_grid, class_weight_grid):
        out = np.zeros(y.shape)
        for fit_idx, val_idx in folds:
            out[val_idx] = _fit_predict(
                x[fit_idx], y[fit_idx], x[val_idx], Config(ridge, weight, False)
            )
        th = choose_thresholds(out, y)
        for rule in keyword_rule_grid:
            cfg = Config(ridge, weight, rule)
            pred = (out >= th) | (hits if rule else False)
            score = _f1(y, pred)
            cv[f"ridge={ridge:g} weight={weight:g} keywords={rule}"] = round(score, 4)
            progress(f"areas: {cfg} cross-validated micro-F1 {score:.3f}")
            if best is None or score > best[0]:
                best = (score, cfg, th, out)
    assert best is not None
    score, cfg, th, out = best
    mean, scale = _standardise(x)
    beta = _ridge((x - mean) / scale, y, cfg.ridge, cfg.class_weight)
    return AreaHead(
        area_ids=list(area_ids),
        weights=beta[:, :-1].astype(np.float32),
        bias=beta[:, -1].astype(np.float32),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        thresholds=th.astype(np.float32),
        slopes=_platt_slopes(out, y, th).astype(np.float32),
        keyword_rule=cfg.keyword_rule,
        encoder_version=encoder_version,
        taxonomy=taxonomy,
        meta={
            "ridge": cfg.ridge,
            "class_weight": cfg.class_weight,
            "cv_micro_f1": round(score, 4),
            "cv": cv,
            "posts": len(x),
            "positives": {a: int(y[:, i].sum()) for i, a in enumerate(area_ids)},
        },
    )
