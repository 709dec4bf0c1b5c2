"""The measured error rates: confusion counts per language and pooled, the file, the bundle's
version check (rates of another model are never used) and their rows in the warehouse."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import psycopg2
import pytest

from classifiers import error_rates
from classifiers.area_head import FILE as AREA_HEAD_FILE
from classifiers.bundle import CALIBRATION_FILE, Classifier
from classifiers.linear_head import HEADS_DIR
from classifiers.warehouse import register

HEAD_TASKS = ("areas", "hate", "sentiment")


def test_counts_per_language_and_pooled() -> None:
    truth = [True, True, False, False, True, False, True, False]
    pred = [True, False, True, False, True, True, False, False]
    langs = ["de", "de", "de", "de", "it", "it", None, None]
    counts = error_rates.confusion_counts(truth, pred, langs, "hate")
    assert counts == {
        "de": {"hate": [1, 1, 1, 1]},
        "it": {"hate": [1, 0, 1, 0]},
        "und": {"hate": [0, 1, 0, 1]},
        "*": {"hate": [2, 2, 2, 2]},
    }
    # several classes: one column each
    y = np.array([[1, 0], [1, 1], [0, 0]], dtype=bool)
    p = np.array([[1, 1], [0, 1], [0, 0]], dtype=bool)
    multi = error_rates.confusion_counts(y, p, ["en", "fr", "en"], ["housing", "health_care"])
    assert multi["en"] == {"housing": [1, 0, 0, 1], "health_care": [0, 0, 1, 1]}
    assert multi["fr"] == {"housing": [0, 1, 0, 0], "health_care": [1, 0, 0, 0]}
    assert multi["*"] == {"housing": [1, 1, 0, 1], "health_care": [1, 0, 1, 1]}
    assert error_rates.tpr_fpr(multi["*"]["housing"]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        error_rates.confusion_counts(y, p, ["en", "fr", "en"], ["housing"])


def _rates(versions: dict[str, str]) -> dict[str, dict]:
    return {
        "hate": error_rates.entry(
            versions["hate"], "leave one corpus out (test)",
            error_rates.confusion_counts([True, False, True], [True, True, False],
                                         ["de", "en", "en"], "hate"),
        ),
        "sentiment": error_rates.entry(
            versions["sentiment"], "leave one language out (test)",
            {"fr": {"negative": [3, 1, 2, 10]}, "*": {"negative": [3, 1, 2, 10]}},
        ),
    }  # fmt: skip


def test_file_round_trip_and_rows(tmp_path: Path) -> None:
    rates = _rates({"hate": "hate-v1", "sentiment": "sent-v1"})
    path = tmp_path / error_rates.FILE
    error_rates.dump(rates, path)
    text = path.read_text(encoding="utf-8")
    error_rates.dump(error_rates.load(path), path)
    assert path.read_text(encoding="utf-8") == text  # deterministic
    assert error_rates.load(path) == rates
    assert text.startswith('{\n "hate": {\n  "counts": {')
    assert error_rates.load(tmp_path / "absent.json") == {}
    assert error_rates.rows(rates, ["sentiment"]) == [
        ("sentiment", "sent-v1", "negative", "*", 3, 1, 2, 10, "leave one language out (test)"),
        ("sentiment", "sent-v1", "negative", "fr", 3, 1, 2, 10, "leave one language out (test)"),
    ]
    assert [r[3] for r in error_rates.rows(rates, ["hate"])] == ["*", "de", "en"]
    assert len(error_rates.rows(rates)) == 5
    path.write_text(text.replace("[\n     1,", "[\n     -1,", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="4 counts"):
        error_rates.load(path)


def _heads_copy(tmp_path: Path) -> Path:
    """The committed heads in a folder of their own, to put an error_rates.json beside them."""
    folder = tmp_path / "heads"
    folder.mkdir()
    for name in ("sentiment.npz", "hate.npz", AREA_HEAD_FILE, CALIBRATION_FILE):
        shutil.copy(HEADS_DIR / name, folder / name)
    return folder


def test_bundle_drops_the_rates_of_another_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _heads_copy(tmp_path)
    deployed = Classifier(heads_dir=folder).versions
    assert Classifier(heads_dir=folder).error_rates == {}  # no file: no rates
    error_rates.dump(_rates({**deployed, "sentiment": "sentiment-lr-retired"}), folder / "error_rates.json")  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="classifiers.bundle"):
        clf = Classifier(heads_dir=folder)
    assert set(clf.error_rates) == {"hate"}
    assert {r[1] for r in clf.error_rates["hate"]} == {deployed["hate"]}
    assert "sentiment-lr-retired" in caplog.text and deployed["sentiment"] in caplog.text


def test_committed_rates_are_those_of_the_deployed_heads() -> None:
    """A retrained head needs `python -m classifiers evaluate` for its rates (docs, JSON)."""
    rates = error_rates.load(HEADS_DIR / error_rates.FILE)
    clf = Classifier(heads_dir=HEADS_DIR)
    assert {t: rates[t]["model_version"] for t in rates} == {t: clf.versions[t] for t in HEAD_TASKS}
    assert set(clf.error_rates) == set(HEAD_TASKS)
    areas = rates["areas"]["counts"]
    assert set(areas["*"]) == set(clf.taxonomy.ids)
    assert rates["hate"]["counts"].keys() >= {"de", "en", "it", "*"}
    for task in HEAD_TASKS:
        by_lang = rates[task]["counts"]
        # the pooled row is the sum of the languages
        for cls, pooled in by_lang["*"].items():
            langs = [c[cls] for lang, c in by_lang.items() if lang != "*"]
            assert pooled == [sum(x) for x in zip(*langs, strict=True)]


def _table(url: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT task, model_version, class, lang, true_positives, false_negatives, "
            "false_positives, true_negatives, evaluation FROM ml.classifier_error_rates"
        )
        return sorted(cur.fetchall())


def test_register_writes_the_rates_idempotently(warehouse_url: str, tmp_path: Path) -> None:
    folder = _heads_copy(tmp_path)
    deployed = Classifier(heads_dir=folder).versions
    error_rates.dump(_rates(deployed), folder / "error_rates.json")
    clf = Classifier(heads_dir=folder)
    tasks = ["language", "hate", "sentiment"]
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        register(cur, clf, tasks)
    expected = sorted(clf.error_rates["hate"] + clf.error_rates["sentiment"])
    assert _table(warehouse_url) == expected
    # a second registration, and one after a re-evaluation of the same version
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        register(cur, clf, tasks)
    assert _table(warehouse_url) == expected
    rates = _rates(deployed)
    rates["sentiment"]["counts"]["fr"]["negative"] = [4, 0, 2, 10]
    error_rates.dump(rates, folder / "error_rates.json")
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        register(cur, Classifier(heads_dir=folder), tasks)
    table = _table(warehouse_url)
    assert len(table) == len(expected)
    assert ("sentiment", deployed["sentiment"], "negative", "fr", 4, 0, 2, 10,
            "leave one language out (test)") in table  # fmt: skip
