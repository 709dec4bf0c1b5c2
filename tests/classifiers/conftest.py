"""Fixtures of the classifier tests: one loaded classifier (encoder + heads) per session.

Loading the int8 encoder and embedding the ~900 area prototypes takes 10-20 s on 2 busy cores,
so every test shares one `Classifier`. The encoder folder is built by `bin/install`
(`python -m classifiers.encoder build`); without it these tests skip with that command.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from classifiers.bundle import Classifier


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    from core.settings import load_settings

    path = Path(load_settings().encoder_path)
    if not path.is_dir():
        pytest.skip(
            f"no encoder at {path}: run `python -m classifiers.encoder build` (bin/install)"
        )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    clf = Classifier()
    clf.areas  # noqa: B018 - load the encoder and embed the prototypes once, here
    return clf
