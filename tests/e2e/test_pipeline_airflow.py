"""End to end through real Airflow (`airflow dags test`) on a real PostgreSQL: generated posts
-> raw -> classifiers -> dbt -> Great Expectations -> published, checked against figures computed
independently from the input file; then a second run, which must change nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg2
import pytest

from tests.e2e.expected import E2E_POSTS, city_area_daily, read_posts

pytestmark = pytest.mark.slow


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _published_checksum(url: str) -> str:
    rows = _query(
        url,
        "SELECT * FROM published_detail.mart_city_area_daily ORDER BY city_code, area_id, day",
    )
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_pipeline_through_airflow_matches_the_input_file(
    warehouse_url: str, airflow_run, demo_imports: Path
) -> None:
    run, posts_file = airflow_run, demo_imports / "posts" / "demo_posts.ndjson"
    first = run("dags", "test", "urban_monitor_pipeline")
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    for task in (
        "prepare_warehouse",
        "import_files",
        "classify_posts",
        "dbt_build",
        "quality_gate",
        "publish",
    ):
        assert f"end task task_id={task}" in first.stdout + first.stderr

    posts = read_posts(posts_file)
    # What the classifiers wrote (current versions), read as plain rows; the mart's figures are
    # then recomputed in Python from the file (city, day) and these areas, without dbt.
    tagged: dict[tuple[str, str], set[str]] = {}
    for source, external_id, area in _query(
        warehouse_url,
        "SELECT p.source, p.external_id, a.area_id FROM ml.post_areas a "
        "JOIN ml.model_versions v ON v.task = 'areas' AND v.is_current "
        "AND v.model_version = a.model_version JOIN raw.posts p USING (post_id)",
    ):
        tagged.setdefault((source, external_id), set()).add(area)
    expected = city_area_daily(posts, tagged)
    # Full detail (role monitor_detail) equals the independent figures ...
    rows = _query(
        warehouse_url,
        "SELECT city_code, area_id, day::text, posts, city_posts, attention_share "
        "FROM published_detail.mart_city_area_daily",
    )
    got = {(c, a, d): (n, cn) for c, a, d, n, cn, _ in rows}
    assert len(expected) > 200  # a meaningful data set, not a handful of cells
    assert got == expected
    assert all(abs(share - n / cn) < 1e-9 for *_, n, cn, share in rows)
    # ... and what BI reads is exactly the cells with at least k = 10 posts (suppression).
    bi = _query(
        warehouse_url,
        "SELECT city_code, area_id, day::text, posts, city_posts FROM published.mart_city_area_daily",
    )
    assert {(c, a, d): (n, cn) for c, a, d, n, cn in bi} == {
        k: v for k, v in expected.items() if v[0] >= 10
    }

    # Every line of the file is accounted for: landed or quarantined, none lost.
    landed = _query(warehouse_url, "SELECT count(*) FROM raw.posts")[0][0]
    rejected = _query(warehouse_url, "SELECT count(*) FROM raw.rejected_records")[0][0]
    assert landed + rejected == len(posts) == E2E_POSTS

    # The area classifier agrees with the generator's labels (micro-F1 over post x area).
    truth = {(p["source"], p["external_id"], a) for p in posts for a in p["labels"]["areas"]}
    found = {(s, e, a) for (s, e), areas in tagged.items() for a in areas}
    hits = len(truth & found)
    f1 = 2 * hits / (len(truth) + len(found))
    assert f1 >= 0.85, f"area micro-F1 against the labels {f1:.3f}"

    # Language ID agrees with the generator's labels.
    labels = {p["external_id"]: p["lang"] for p in posts}
    langs = _query(
        warehouse_url,
        "SELECT p.external_id, f.lang FROM marts.fct_posts f JOIN raw.posts p USING (post_id)",
    )
    agreement = sum(labels[e] == lang for e, lang in langs) / len(langs)
    assert agreement >= 0.98, f"language agreement {agreement:.3f}"

    gate = _query(warehouse_url, "SELECT passed, published FROM quality.gate_runs")
    assert gate == [(True, True)]

    # Second run: no duplicates, identical publication.
    checksum = _published_checksum(warehouse_url)
    second = run("dags", "test", "urban_monitor_pipeline")
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert _query(warehouse_url, "SELECT count(*) FROM raw.posts")[0][0] == landed
    assert _query(warehouse_url, "SELECT count(*) FROM ml.post_languages")[0][0] == landed
    assert _query(warehouse_url, "SELECT count(*) FROM ml.post_sentiment")[0][0] == landed
    assert _query(warehouse_url, "SELECT count(*) FROM ml.post_hate")[0][0] == landed
    assert _published_checksum(warehouse_url) == checksum
