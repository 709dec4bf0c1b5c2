"""The warehouse stage (what the classify_posts DAG task runs): only posts without a
classification of the current versions, idempotent, one command to re-classify a subset or to
switch versions, and never two current versions of a task."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg2
import pytest

from classifiers.bundle import TASKS, Classifier
from classifiers.warehouse import activate, classify_warehouse, reclassify, status
from core.settings import REPO_ROOT
from extractors.social.file_import import import_file
from tests.conftest import TEST_PEPPER

POSTS = [
    ("de", "DE001C", "Die Mieten in Berlin steigen, Geflüchtete finden keine Wohnung."),
    ("fr", "FR002C", "Les cours de français pour adultes étrangers sont complets à Lyon."),
    ("it", "IT001C", "Il permesso di soggiorno è scaduto e la questura di Roma non risponde."),
    ("en", None, "Great news: the job fair for newcomers in Dublin was a huge success!"),
    ("nl", "NL037C", "Werkgevers in Rotterdam zoeken personeel.\tTab\\en backslash."),
    ("en", None, "🙂🙂"),
]


def _load(url: str, tmp_path: Path, posts, start: int = 0, name: str = "a") -> None:
    path = tmp_path / f"posts_{name}.ndjson"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "source": "demo_test",
                    "platform": "news",
                    "external_id": str(start + i),
                    "created_at": "2026-08-01T00:00:00Z",
                    "text": text,
                    "lang": lang,
                    **({"city_code": city} if city else {}),
                },
                ensure_ascii=False,
            )
            + "\n"
            for i, (lang, city, text) in enumerate(posts)
        ),
        encoding="utf-8",
    )
    import_file(url, path, pepper=TEST_PEPPER)


def _q(url: str, sql: str, args=()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def _current(url: str) -> dict[str, str]:
    return dict(_q(url, "SELECT task, model_version FROM ml.model_versions WHERE is_current"))


def test_only_unclassified_posts_idempotent_and_changed_text(
    warehouse_url: str, tmp_path: Path, classifier: Classifier
) -> None:
    url = warehouse_url
    _load(url, tmp_path, POSTS)
    assert classify_warehouse(url, batch_size=4, classifier=classifier) == dict.fromkeys(TASKS, 6)
    assert _current(url) == classifier.versions
    langs = _q(url, "SELECT lang FROM ml.post_languages ORDER BY post_id")
    assert [lang for (lang,) in langs] == ["de", "fr", "it", "en", "nl", "und"]
    assert _q(url, "SELECT count(*) FROM ml.post_sentiment")[0][0] == 6
    assert _q(url, "SELECT count(*) FROM ml.post_hate")[0][0] == 6
    cities = _q(url, "SELECT city_code, from_text, from_source FROM ml.post_cities ORDER BY 1")
    assert ("DE001C", True, True) in cities and ("IE001C", True, False) in cities
    assert ("IT001C", True, True) in cities  # "Roma" in an Italian post is Rome
    areas = _q(url, "SELECT area_id FROM ml.post_areas a JOIN raw.posts p USING (post_id) "
               "WHERE p.external_id = '0'")  # fmt: skip
    assert ("housing",) in areas
    # the tab and backslash of a KWIC window survive COPY
    [ctx] = _q(url, "SELECT context FROM ml.post_keywords WHERE keyword = 'werkgevers'")
    assert "backslash" in ctx[0] and "\\" in ctx[0]

    # nothing new: nothing done, nothing duplicated
    assert classify_warehouse(url, classifier=classifier) == dict.fromkeys(TASKS, 0)
    assert _q(url, "SELECT count(*) FROM ml.classified_posts")[0][0] == 6 * len(TASKS)

    # one new post: only that one
    _load(url, tmp_path, [("sv", "SE003C", "Bostadsbristen i Malmö drabbar nyanlända.")], 100, "b")
    assert classify_warehouse(url, classifier=classifier) == dict.fromkeys(TASKS, 1)

    # a post whose text changed (same natural key) is classified again, its rows replaced
    changed = [("de", "DE001C", "Die Moschee in Berlin predigt den Islam und die Scharia.")]
    _load(url, tmp_path, changed, 0, "c")
    assert classify_warehouse(url, classifier=classifier) == dict.fromkeys(TASKS, 1)
    areas = _q(url, "SELECT area_id FROM ml.post_areas a JOIN raw.posts p USING (post_id) "
               "WHERE p.external_id = '0'")  # fmt: skip
    assert ("religion_and_culture",) in areas and ("housing",) not in areas

    # limit bounds one call; the rest is picked up by the next
    _load(
        url, tmp_path, [("en", None, f"Post number {i} about rents.") for i in range(3)], 200, "d"
    )
    assert classify_warehouse(url, classifier=classifier, limit=2)["language"] == 2
    assert classify_warehouse(url, classifier=classifier)["language"] == 1


def test_switching_versions_and_reclassifying_a_subset(
    warehouse_url: str, tmp_path: Path, classifier: Classifier
) -> None:
    url = warehouse_url
    _load(url, tmp_path, POSTS)
    classify_warehouse(url, classifier=classifier)
    first = _current(url)

    # an analyst adds a keyword: areas, keywords and places get new versions, nothing else
    keywords = tmp_path / "area_keywords.csv"
    shutil.copy(REPO_ROOT / "dbt" / "seeds" / "area_keywords.csv", keywords)
    with keywords.open("a", encoding="utf-8") as f:
        f.write("employment,en,job fair\n")
    second = Classifier(encoder=classifier.encoder, keywords_file=keywords)
    changed = {t for t in TASKS if second.versions[t] != classifier.versions[t]}
    assert changed == {"areas", "keywords", "cities"}
    done = classify_warehouse(url, classifier=second)
    assert done == {t: (6 if t in changed else 0) for t in TASKS}
    assert _current(url) == second.versions
    # exactly one current version per task; the old rows stay for comparison
    assert _q(url, "SELECT count(*) FROM ml.model_versions WHERE task = 'areas'")[0][0] == 2
    staged = _q(
        url,
        "SELECT count(DISTINCT a.model_version) FROM ml.post_areas a JOIN ml.model_versions v "
        "ON v.task = 'areas' AND v.is_current AND v.model_version = a.model_version",
    )
    assert staged == [(1,)]
    hits = _q(url, "SELECT label FROM ml.post_keywords WHERE keyword = 'job fair' AND model_version = %s",
              (second.versions["keywords"],))  # fmt: skip
    assert hits == [("employment",)]

    # roll back to the first areas version: allowed, it covers every post
    activate(url, "areas", first["areas"])
    assert _current(url)["areas"] == first["areas"]
    _load(url, tmp_path, [("en", None, "One more post about housing.")], 100, "b")
    with pytest.raises(ValueError, match="has not classified 1 posts"):
        activate(url, "areas", second.versions["areas"])
    report = status(url)
    assert report["posts"] == 7 and report["current"]["areas"]["posts"] == 6

    # re-classify a subset with the current versions: rows replaced, not duplicated
    before = _q(url, "SELECT count(*) FROM ml.post_sentiment")[0][0]
    post_ids = [pid for (pid,) in _q(url, "SELECT post_id FROM raw.posts ORDER BY post_id LIMIT 2")]
    done = reclassify(url, post_ids=post_ids, tasks=["sentiment", "hate"], classifier=second)
    assert done == {"sentiment": 2, "hate": 2}
    assert _q(url, "SELECT count(*) FROM ml.post_sentiment")[0][0] == before
    with pytest.raises(ValueError, match="needs a subset"):
        reclassify(url, classifier=second)
