"""Classification in shards (what the mapped tasks of classify_posts run): disjoint hash buckets
that together cover every post once, and claims that keep overlapping runs from classifying a
post twice or writing a row twice, on a real PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg2
import pytest

from classifiers.bundle import TASKS, Classifier
from classifiers.warehouse import Shard, classify_warehouse, register_versions, shards
from tests.classifiers.test_warehouse import POSTS, _load, _q


class SlowClassifier:
    """The real classifier, holding each batch's claim a while so that runs overlap."""

    def __init__(self, inner: Classifier, delay: float, calls: list[int]) -> None:
        self.inner, self.delay, self.calls = inner, delay, calls
        self.versions, self.descriptions = inner.versions, inner.descriptions
        self.error_rates = inner.error_rates

    def classify(self, posts, *args, **kwargs):
        self.calls.append(len(posts))
        time.sleep(self.delay)
        return self.inner.classify(posts, *args, **kwargs)


def _classified(url: str) -> dict[str, list[int]]:
    rows = _q(url, "SELECT task, post_id FROM ml.classified_posts ORDER BY task, post_id")
    out: dict[str, list[int]] = {}
    for task, post_id in rows:
        out.setdefault(task, []).append(post_id)
    return out


def test_shards_are_disjoint_and_cover_every_post(
    warehouse_url: str, tmp_path: Path, classifier: Classifier
) -> None:
    url = warehouse_url
    _load(url, tmp_path, POSTS * 2)  # 12 posts
    ids = [r[0] for r in _q(url, "SELECT post_id FROM raw.posts ORDER BY 1")]
    assert register_versions(url, classifier=classifier) == classifier.versions
    per_shard = {}
    for shard in shards(3):
        before = set(_classified(url).get("language", []))
        done = classify_warehouse(url, shard=shard, batch_size=2, classifier=classifier)
        got = set(_classified(url)["language"]) - before
        assert got == {i for i in ids if i % 3 == shard.index}
        per_shard[shard.index] = done["language"]
    assert sum(per_shard.values()) == len(ids) and all(per_shard.values())
    assert _classified(url) == {t: ids for t in TASKS}
    # Nothing left for any shard, nor for the whole.
    assert classify_warehouse(url, classifier=classifier) == dict.fromkeys(TASKS, 0)
    with pytest.raises(ValueError, match="index < count"):
        Shard(3, 3)


def test_overlapping_runs_claim_posts_and_never_do_one_twice(
    warehouse_url: str, tmp_path: Path, classifier: Classifier
) -> None:
    """The whole warehouse and the even half of a 2-way split run at once (what a changed shard
    count or a late attempt beside its retry would do): every post is classified by exactly one
    of them, with one row per post and model version."""
    url = warehouse_url
    _load(url, tmp_path, POSTS * 2)
    ids = [r[0] for r in _q(url, "SELECT post_id FROM raw.posts ORDER BY 1")]
    register_versions(url, classifier=classifier)
    calls_a: list[int] = []
    calls_b: list[int] = []
    results: dict[str, dict[str, int]] = {}
    errors: list[BaseException] = []

    def run(name: str, shard: Shard, calls: list[int]) -> None:
        try:
            clf = SlowClassifier(classifier, 0.6, calls)
            results[name] = classify_warehouse(url, shard=shard, batch_size=2, classifier=clf)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("all", Shard(0, 1), calls_a)),
        threading.Thread(target=run, args=("even", Shard(0, 2), calls_b)),
    ]
    threads[0].start()
    time.sleep(0.3)  # the first holds its first batch's claim
    threads[1].start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert calls_a and calls_b, "the runs did not overlap"
    for task in TASKS:
        assert results["all"][task] + results["even"][task] == len(ids), task
    assert _classified(url) == {t: ids for t in TASKS}
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT post_id) FROM ml.post_languages")
        assert cur.fetchone() == (len(ids), len(ids))
