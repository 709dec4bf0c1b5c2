"""Small trained heads on the shared embeddings: sentiment (3 classes) and hate speech (binary).

A head is a logistic regression over [embedding (384), one-hot of the training languages] —
the language one-hot lets a head learn that base rates differ between the training corpora;
for a language it was not trained on the one-hot is zero (the pooled intercept). Binary heads
carry a decision threshold per training language (chosen by cross-validation on the training
split, never on the test split) and a default for every other language.

Artefacts are one `.npz` per head (float32 weights + a JSON metadata string: classes, languages,
thresholds, the encoder version it was trained on, training data, split, date, metrics): a few
KB, committed under `classifiers/heads/` with MODEL_CARD.md. Inference is numpy only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import load_settings

HEADS_DIR = Path(__file__).resolve().parent / "heads"
# heads trained on the ONNX Runtime encoder's vectors (another encoder version, see embeddings.py)
ONNX_HEADS_DIR = HEADS_DIR / "onnx"


def default_heads_dir() -> Path:
    """MONITOR_CLASSIFIER_HEADS, else the committed heads of the configured encoder runtime."""
    settings = load_settings()
    if settings.classifier_heads:
        return settings.classifier_heads
    return ONNX_HEADS_DIR if settings.encoder_runtime == "onnx" else HEADS_DIR


class EncoderMismatch(RuntimeError):
    pass


@dataclass
class LinearHead:
    name: str  # "sentiment" | "hate"
    classes: list[str]  # sentiment: negative, neutral, positive; hate: not_hate, hate
    weights: np.ndarray  # [n_outputs, dim + len(languages)]; n_outputs 1 for binary
    bias: np.ndarray  # [n_outputs]
    languages: list[str]  # languages of the one-hot block
    encoder_version: str
    thresholds: dict[str, float] = field(default_factory=dict)  # binary: per language
    default_threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def version(self) -> str:
        h = hashlib.sha256(self.weights.tobytes())
        h.update(self.bias.tobytes())
        h.update(
            json.dumps(
                [
                    self.classes,
                    self.languages,
                    self.thresholds,
                    self.default_threshold,
                    self.encoder_version,
                ],
                sort_keys=True,
            ).encode()
        )
        return f"{self.name}-lr-{h.hexdigest()[:12]}"

    def features(self, vectors: np.ndarray, langs: Sequence[str | None]) -> np.ndarray:
        onehot = np.zeros((len(vectors), len(self.languages)), dtype=np.float32)
        index = {lang: i for i, lang in enumerate(self.languages)}
        for row, lang in enumerate(langs):
            if lang in index:
                onehot[row, index[lang]] = 1.0
        return np.hstack([vectors.astype(np.float32), onehot])

    def proba(self, vectors: np.ndarray, langs: Sequence[str | None]) -> np.ndarray:
        """Class probabilities [n, len(classes)]."""
        logits = self.features(vectors, langs) @ self.weights.T + self.bias
        if self.binary:
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def threshold(self, lang: str | None) -> float:
        return self.thresholds.get(lang or "", self.default_threshold)

    def decide(self, proba: np.ndarray, langs: Sequence[str | None]) -> list[str]:
        if self.binary:
            return [
                self.classes[1] if p >= self.threshold(lang) else self.classes[0]
                for p, lang in zip(proba[:, 1], langs, strict=True)
            ]
        return [self.classes[i] for i in proba.argmax(axis=1)]

    def check_encoder(self, encoder_version: str) -> None:
        if encoder_version != self.encoder_version:
            raise EncoderMismatch(
                f"the {self.name} head was trained on encoder {self.encoder_version!r} but the "
                f"loaded encoder is {encoder_version!r}: its vectors differ, so the head's "
                "outputs would be wrong. Load the same encoder (MONITOR_ENCODER_PATH, "
                "MONITOR_ENCODER_PRECISION) or retrain: `python -m classifiers train`."
            )

    def save(self, path: Path) -> None:
        meta = {
            "name": self.name,
            "classes": self.classes,
            "languages": self.languages,
            "encoder_version": self.encoder_version,
            "thresholds": self.thresholds,
            "default_threshold": self.default_threshold,
            "meta": self.meta,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            np.savez_compressed(
                f,
                weights=self.weights.astype(np.float32),
                bias=self.bias.astype(np.float32),
                meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
            )

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        if not path.exists():
            raise FileNotFoundError(
                f"classifier head not found: {path}. Train it with `python -m classifiers train` "
                "(needs ../shared/data/labelled) or restore classifiers/heads/ from the repository."
            )
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                name=meta["name"],
                classes=list(meta["classes"]),
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                languages=list(meta["languages"]),
                encoder_version=meta["encoder_version"],
                thresholds={k: float(v) for k, v in meta.get("thresholds", {}).items()},
                default_threshold=float(meta.get("default_threshold", 0.5)),
                meta=meta.get("meta", {}),
            )
