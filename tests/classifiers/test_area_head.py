"""The supervised area head: deployed in the bundle, versioned by its file, trainable offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from classifiers import area_head, train
from classifiers.bundle import Classifier, PostInput
from classifiers.linear_head import HEADS_DIR, EncoderMismatch


def test_deployed_head_tags_made_up_posts_in_several_languages(classifier: Classifier) -> None:
    assert classifier.area_head is not None
    assert classifier.versions["areas"] == classifier.area_head.version
    assert classifier.versions["areas"].startswith("areas-lin-")
    posts = [
        ("residence_and_irregular_status", "Deport them all! Illegal immigrants must leave the country now.", "en"),
        ("asylum_and_refugees", "Basta sbarchi, chiudiamo i porti ai clandestini!", "it"),
        ("public_perceptions", "Diese Flüchtlinge sind alle kriminell und faul.", "de"),
        (None, "Nice weather today, we are going to the beach with the kids.", "en"),
    ]  # fmt: skip
    results = classifier.classify([PostInput(t, lang) for _, t, lang in posts], {"areas"})
    for (area, text, _), r in zip(posts, results, strict=True):
        assert set(r.area_scores) == set(classifier.areas.area_ids)
        assert all(0 <= s <= 1 for s in r.area_scores.values())
        if area is None:
            assert r.areas == [], (text, r.areas)
        else:
            assert area in r.areas, (text, r.areas)
            assert r.area_scores[area] >= 0.5  # a tagged area scores at least 0.5


def test_areas_version_changes_with_the_head_file(tmp_path: Path) -> None:
    heads = tmp_path / "heads"
    shutil.copytree(HEADS_DIR, heads, ignore=shutil.ignore_patterns("onnx"))
    deployed = Classifier(heads_dir=heads)
    head = area_head.AreaHead.load(heads / area_head.FILE)
    head.thresholds = head.thresholds + np.float32(0.01)
    head.save(heads / area_head.FILE)
    changed = Classifier(heads_dir=heads)
    assert changed.versions["areas"] != deployed.versions["areas"]
    assert changed.version != deployed.version
    assert changed.versions["sentiment"] == deployed.versions["sentiment"]
    (heads / area_head.FILE).unlink()
    fallback = Classifier(heads_dir=heads)
    assert fallback.area_head is None and fallback.versions["areas"].startswith("areas-zs-")


def test_train_skips_with_a_reason_without_the_labelled_data(tmp_path: Path, monkeypatch) -> None:
    def no_encoder(*args, **kwargs):
        raise AssertionError("the encoder must not be loaded when there is nothing to train on")

    monkeypatch.setattr(train, "load_shared_encoder", no_encoder)
    out = tmp_path / "heads"
    summary = train.train(out=out, data_root=tmp_path / "shared" / "data" / "labelled")
    assert "labelled data not found" in summary["skipped"]
    assert not out.exists()  # nothing written


def _planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 16)).astype(np.float32)
    z = rng.normal(scale=0.01, size=(n, 3))
    hits = rng.random((n, 3)) < 0.05
    y = np.zeros((n, 3), dtype=bool)
    y[:, 0] = vectors[:, 0] + 0.5 * vectors[:, 1] > 1.0  # planted in the embedding
    y[:, 1] = hits[:, 1]  # planted in the keyword hits
    y[:, 2] = z[:, 2] > 0.012  # planted in the zero-shot score
    return vectors, z, hits, y


def test_small_training_run_recovers_a_planted_signal(tmp_path: Path) -> None:
    vectors, z, hits, y = _planted(900, seed=1)
    kwargs = {"encoder_version": "enc", "taxonomy": "tax", "ridge_grid": (1.0, 30.0)}
    head = area_head.fit(vectors, z, hits, y, ["a", "b", "c"], **kwargs)
    again = area_head.fit(vectors, z, hits, y, ["a", "b", "c"], **kwargs)
    assert again.version == head.version  # deterministic
    new_vectors, new_z, new_hits, new_y = _planted(600, seed=2)
    scores, tagged = head.predict(new_vectors, new_z, new_hits)
    for a in range(3):
        tp = (tagged[:, a] & new_y[:, a]).sum()
        f1 = 2 * tp / (tagged[:, a].sum() + new_y[:, a].sum())
        assert f1 > 0.8, (a, f1)  # chance level is about 0.1
    assert ((scores >= 0.5) == tagged).all() or head.keyword_rule
    head.save(tmp_path / "areas.npz")
    loaded = area_head.AreaHead.load(tmp_path / "areas.npz")
    assert loaded.version == head.version
    np.testing.assert_array_equal(loaded.predict(new_vectors, new_z, new_hits)[1], tagged)


@pytest.mark.parametrize("missing", ["area_ids", "taxonomy"])
def test_a_head_of_other_seeds_falls_back_to_zero_shot(tmp_path: Path, missing: str) -> None:
    heads = tmp_path / "heads"
    shutil.copytree(HEADS_DIR, heads, ignore=shutil.ignore_patterns("onnx"))
    head = area_head.AreaHead.load(heads / area_head.FILE)
    if missing == "area_ids":
        head.area_ids = [*head.area_ids[:-1], "an_area_of_older_seeds"]
    else:
        head.taxonomy = "000000000000"
    head.save(heads / area_head.FILE)
    assert Classifier(heads_dir=heads).area_head is None


def test_the_head_refuses_another_encoder() -> None:
    head = area_head.AreaHead.load(HEADS_DIR / area_head.FILE)
    head.check_encoder(head.encoder_version)
    with pytest.raises(EncoderMismatch, match="retrain"):
        head.check_encoder(head.encoder_version + "-other")
