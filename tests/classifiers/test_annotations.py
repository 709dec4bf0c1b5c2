"""The committed area annotations: well-formed labels, agreement arithmetic, and the join with
the real texts in ../shared (skipped when that folder is absent)."""

from __future__ import annotations

import csv

import pytest

from classifiers import annotations, labelled
from classifiers.areas import load_taxonomy

AREA_IDS = load_taxonomy().ids
SHARED = labelled.LABELLED_DIR / "hate_speech"


def _rows(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_labels_are_keys_and_known_areas_only():
    rows = _rows(annotations.ANNOTATIONS)
    assert len(rows) >= 4000
    assert set(rows[0]) == {"dataset", "key", "areas"}  # no text column, ever
    keys = [(r["dataset"], r["key"]) for r in rows]
    assert len(keys) == len(set(keys))
    for n, row in enumerate(rows, 2):
        assert len(row["key"]) == 16 and int(row["key"], 16) >= 0
        annotations.parse_areas(row["areas"], set(AREA_IDS), f"row {n}")
    with_area = sum(r["areas"] != annotations.NONE for r in rows)
    assert 0.1 < with_area / len(rows) < 0.5  # real posts: most are about none of the areas


def test_double_annotations_are_a_subset_and_carry_the_adjudicated_label():
    final = {(r["dataset"], r["key"]): r["areas"] for r in _rows(annotations.ANNOTATIONS)}
    double = _rows(annotations.DOUBLE_ANNOTATIONS)
    assert len(double) >= 300
    for row in double:
        assert final[(row["dataset"], row["key"])] == row["adjudicated"]
        if row["annotator_a"] == row["annotator_b"]:
            assert row["adjudicated"] == row["annotator_a"]


def test_unknown_area_is_an_error_naming_the_place():
    with pytest.raises(ValueError, match=r"file\.csv:7.*housin"):
        annotations.parse_areas("housin|employment", set(AREA_IDS), "file.csv:7")


def test_cohen_kappa_on_constructed_cases():
    assert annotations.cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    # observed 0.5, expected 0.5 -> 0
    assert annotations.cohen_kappa([True, True, False, False], [True, False, True, False]) == 0.0
    # 8 of 10 agree; each annotator 5 positives: expected 0.5 -> kappa 0.6
    a = [True] * 5 + [False] * 5
    b = [True] * 4 + [False] + [True] + [False] * 4
    assert annotations.cohen_kappa(a, b) == pytest.approx(0.6)
    assert annotations.cohen_kappa([False, False], [False, False]) is None


def test_agreement_is_reported_for_every_area():
    rows, same, total = annotations.agreement(AREA_IDS)
    assert [r.area for r in rows] == ["any area", *AREA_IDS]
    assert total >= 300 and 0 < same <= total
    any_area = rows[0]
    assert any_area.kappa is not None and any_area.kappa > 0.6


def test_corpus_groups_datasets_of_one_publisher():
    assert annotations.corpus_of("wuerzburg_de_hasoc") == "wuerzburg"
    assert annotations.corpus_of("umsab_pt_val") == "umsab"
    assert annotations.corpus_of("hateval2019_en_dev") == "hateval"


@pytest.mark.skipif(not SHARED.exists(), reason=f"labelled posts not present at {SHARED}")
def test_every_label_finds_its_real_text():
    posts = annotations.load(AREA_IDS)
    assert len(posts) == len(_rows(annotations.ANNOTATIONS))
    assert {p.corpus for p in posts} == {"hateval", "haspeede", "wuerzburg", "umsab"}
    assert all(labelled.key_of(p.dataset, p.text) == p.key for p in posts)
