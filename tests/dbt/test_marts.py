"""Marts end to end on generated data (import -> every classification from the generator's
labels, "oracle" versions, so the marts are checked apart from classifier accuracy -> dbt build -> gate -> publish), checked against figures computed independently
from the input file (tests/dbt/expected.py); suppression, idempotence and one gate test per
kind of blocking check (fault injected into the staging area `marts`: gate fails, `published`
unchanged)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from bench.warehouse import (
    ORACLE_VERSION,
    _copy,
    load_oracle_classifications,
    register_oracle_versions,
)
from core.publications import load_publications
from demo.generate import iter_official_statistics, write_official_statistics, write_posts
from expectations.gate import validate
from monitor import pipeline
from publication import publish
from tests.conftest import TEST_PEPPER
from tests.dbt import expected as exp
from tests.e2e.expected import read_posts

pytestmark = pytest.mark.slow
N_POSTS = 3_000
K = 10


def _query(url: str, q: str, args=None) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall() if cur.description else []


def _checksum(url: str, schema: str) -> str:
    rows = [
        sorted(map(repr, _query(url, f"SELECT * FROM {schema}.{t}")))
        for t in sorted(p.table for p in load_publications() if p.bi)
        if t not in ("fct_city_statistics", "fct_country_statistics")  # carry fetched_at
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _oracle_language_and_areas(url: str, posts: list[dict]) -> None:
    """Language and areas of every landed post from the generator's labels (the real
    classifiers run in tests/e2e and tests/classifiers; here they would only add noise)."""
    labels = {(p["source"], p["external_id"]): p for p in posts}
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        register_oracle_versions(cur, ("language", "areas"))
        cur.execute(
            "SELECT post_id, source, external_id FROM raw.posts WHERE post_id NOT IN "
            "(SELECT post_id FROM ml.post_languages WHERE model_version = %s)",
            (ORACLE_VERSION,),
        )
        landed = [(pid, labels[(src, ext)]) for pid, src, ext in cur.fetchall()]
        v = ORACLE_VERSION
        _copy(cur, "ml.post_languages", "post_id, model_version, lang, confidence",
              [(pid, v, p["lang"], 0.99) for pid, p in landed])  # fmt: skip
        _copy(cur, "ml.post_areas", "post_id, model_version, area_id, score",
              [(pid, v, a, 0.9) for pid, p in landed for a in sorted(set(p["labels"]["areas"]))])  # fmt: skip
        _copy(cur, "ml.classified_posts", "task, model_version, post_id",
              [(t, v, pid) for pid, _ in landed for t in ("language", "areas")])  # fmt: skip


def _oracle_error_rates(url: str) -> None:
    """The constructed error rates of tests/dbt/expected.py, stored with the oracle versions."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for (task, cls, lang), counts in exp.ORACLE_ERROR_RATES.items():
            cur.execute(
                "INSERT INTO ml.classifier_error_rates (task, model_version, class, lang, "
                "true_positives, false_negatives, false_positives, true_negatives, evaluation) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'constructed') ON CONFLICT DO NOTHING",
                (task, ORACLE_VERSION, cls, lang, *counts),
            )


def _run(url: str, imports: Path, posts: list[dict]) -> str:
    pipeline.prepare(url)
    pipeline.ingest(url, imports, pepper=TEST_PEPPER)
    _oracle_language_and_areas(url, posts)
    load_oracle_classifications(url, posts)
    _oracle_error_rates(url)
    pipeline.build(url)
    gate_run_id = pipeline.audit(url)
    publish.publish(url, gate_run_id, k=K)
    return gate_run_id


@pytest.fixture
def built(warehouse_url: str, tmp_path: Path):
    imports = tmp_path / "imports"
    (imports / "posts").mkdir(parents=True)
    (imports / "statistics").mkdir()
    write_posts(imports / "posts" / "demo.ndjson", N_POSTS, seed=5)
    write_official_statistics(imports / "statistics" / "stats.csv", seed=5)
    posts = read_posts(imports / "posts" / "demo.ndjson")
    _run(warehouse_url, imports, posts)
    return warehouse_url, imports, posts


def _close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def test_marts_match_independent_figures_suppression_and_idempotence(built) -> None:
    url, imports, posts = built
    # City x area x day / week / month, full detail.
    for mart, period in (("daily", exp.day), ("weekly", exp.week), ("monthly", exp.month)):
        col = {"daily": "day", "weekly": "week", "monthly": "month"}[mart]
        want = exp.city_area_period(posts, period)
        rows = _query(
            url,
            f"SELECT city_code, area_id, {col}, posts, city_posts, attention_share, "
            f"mean_sentiment, negative_share, hate_share "
            f"FROM published_detail.mart_city_area_{mart}",
        )
        got = {(c, a, d): r for c, a, d, *r in rows}
        assert set(got) == set(want), mart
        for key, (n, cn, share, mean, neg, hate) in got.items():
            w = want[key]
            assert (n, cn) == (w["posts"], w["city_posts"]), (mart, key)
            assert _close(share, n / cn)
            assert _close(mean, w["mean_sentiment"]), (mart, key)
            assert _close(neg, w["negative_share"]) and _close(hate, w["hate_share"]), key
        # Suppressed publication: exactly the cells with >= K posts, identical figures.
        bi = _query(
            url, f"SELECT city_code, area_id, {col}, posts FROM published.mart_city_area_{mart}"
        )
        assert {(c, a, d): n for c, a, d, n in bi} == {
            k: w["posts"] for k, w in want.items() if w["posts"] >= K
        }
    # The contract columns of the daily mart are still there.
    assert len(exp.city_area_period(posts)) > 200

    # Shares corrected for classifier error, against the same method in plain Python.
    names = ("attention", "negative", "hate")
    for mart, period in (("weekly", exp.week), ("monthly", exp.month)):
        col = mart.removesuffix("ly")
        want_c = exp.corrected_shares(posts, period)
        cols = ", ".join(f"{n}_share_corrected, {n}_share_low, {n}_share_high" for n in names)
        rows = _query(
            url,
            f"SELECT city_code, area_id, {col}, {cols} FROM published_detail.mart_city_area_{mart}",
        )
        estimated = dict.fromkeys(names, 0)
        for city, area, start, *figures in rows:
            want = want_c[(city, area, start)]
            for i, n in enumerate(names):
                got = tuple(figures[3 * i : 3 * i + 3])
                if want[n] is None:
                    assert got == (None, None, None), (mart, city, area, start, n, got)
                    continue
                estimated[n] += 1
                assert all(_close(g, w) for g, w in zip(got, want[n], strict=True)), (
                    mart,
                    n,
                    got,
                    want[n],
                )
        # Each kind of estimate, and of missing estimate, occurs (the case is not vacuous).
        assert min(estimated.values()) > 0 and estimated["hate"] < len(rows), estimated
        assert any(r[1] == "housing" for r in rows)

    # Event reactions (volume before/after, Poisson z and p; hate two-proportion z).
    want_ev = exp.event_reactions(posts)
    rows = _query(
        url,
        "SELECT event_id, posts_before, posts_after, volume_z, volume_p_value, hate_share_z "
        "FROM published_detail.mart_event_reactions",
    )
    got_ev = {e: dict(zip(("posts_before", "posts_after", "volume_z", "volume_p_value",
                           "hate_share_z"), r, strict=True)) for e, *r in rows}  # fmt: skip
    assert set(got_ev) == set(want_ev) == {e["event_id"] for e in exp.events()}
    for event_id, w in want_ev.items():
        g = got_ev[event_id]
        assert (g["posts_before"], g["posts_after"]) == (w["posts_before"], w["posts_after"])
        for key in ("volume_z", "volume_p_value", "hate_share_z"):
            assert _close(g[key], w[key]), (event_id, key)
    # The demo's events make the city talk more: the reaction is visible and significant.
    berlin = got_ev["berlin_housing_quota"]
    assert berlin["posts_after"] > berlin["posts_before"] and berlin["volume_p_value"] < 0.05

    # City comparison: posts per 100,000 inhabitants with the latest population (2025).
    population = {
        (r["city_code"]): r["value"]
        for r in iter_official_statistics(5)
        if r["indicator"] == "population"
        and r["year"] == max(x["year"] for x in iter_official_statistics(5))
    }
    year = exp.city_area_period(posts, lambda d: date(d.year, 1, 1))
    rows = _query(
        url,
        "SELECT city_code, period_start, posts, population, posts_per_100k, hate_share "
        "FROM published_detail.mart_city_comparison WHERE period_type = 'year'",
    )
    city_year = {}
    for (city, _area, start), w in year.items():
        city_year[(city, start)] = w["city_posts"]
    assert {(c, s): n for c, s, n, *_ in rows} == city_year
    for c, _s, n, pop, per100k, _hate in rows:
        assert pop == population[c]
        assert _close(per100k, n * 100000 / pop)

    # Source coverage per source, platform, city and month (language summed: it is classified).
    want_cov: dict = {}
    for (src, plat, _lang, city, mon), n in exp.source_coverage(posts).items():
        want_cov[(src, plat, city, mon)] = want_cov.get((src, plat, city, mon), 0) + n
    rows = _query(
        url,
        "SELECT source, platform, city_code, month, sum(posts) FROM "
        "published_detail.mart_source_coverage GROUP BY 1, 2, 3, 4",
    )
    assert {(s, p, c, m): n for s, p, c, m, n in rows} == want_cov
    caveats = _query(
        url, "SELECT DISTINCT unnest(caveats) FROM published_detail.mart_source_coverage"
    )
    assert ("synthetic_demo_data",) in caveats

    # Keywords: every labelled area's keyword was found; counts per city and day add up.
    kw = _query(url, "SELECT sum(posts) FROM published_detail.mart_keywords_daily "
                "WHERE kind = 'taxonomy'")[0][0]  # fmt: skip
    assert kw >= sum(1 for p in posts if p["labels"]["areas"]) * 0.9
    assert _query(url, "SELECT count(*) FROM published_detail.fct_keyword_contexts")[0][0] > 0

    # Focal points: every spike clears the minimum volume and the z threshold.
    for n, z in _query(url, "SELECT posts, robust_z FROM published_detail.mart_focal_points"):
        assert n >= 10 and z >= 3.5

    # Post-level detail is never readable by BI.
    assert _query(url, "SELECT to_regclass('published.fct_posts')") == [(None,)]
    assert _query(
        url, "SELECT has_schema_privilege('monitor_bi', 'published_detail', 'USAGE')"
    ) == [(False,)]

    # Idempotence: build, gate and publish again: identical publications.
    before = (_checksum(url, "published"), _checksum(url, "published_detail"))
    _run(url, imports, posts)
    assert (_checksum(url, "published"), _checksum(url, "published_detail")) == before
    # A full refresh gives the same rows as the incremental runs.
    from monitor import transform

    transform.run_dbt(url, ["run", "--full-refresh"])
    gate = validate(url)
    publish.publish(url, gate.gate_run_id, k=K)
    assert (_checksum(url, "published"), _checksum(url, "published_detail")) == before


FAULTS = {
    # check kind: (table, inject, undo, failing target, failing check)
    "schema": (
        "mart_city_area_daily",
        "ALTER TABLE marts.mart_city_area_daily RENAME COLUMN dimension TO dim",
        "ALTER TABLE marts.mart_city_area_daily RENAME COLUMN dim TO dimension",
        "marts.mart_city_area_daily",
        "expect_table_columns_to_match_set",
    ),
    "keys": (
        "mart_city_area_daily",
        "INSERT INTO marts.mart_city_area_daily SELECT * FROM marts.mart_city_area_daily LIMIT 1",
        None,
        "marts.mart_city_area_daily.",  # compound key: the target lists the columns
        "expect_compound_columns_to_be_unique",
    ),
    "value_range": (
        "mart_city_area_daily",
        "UPDATE marts.mart_city_area_daily SET attention_share = 1.5 "
        "WHERE ctid = (SELECT min(ctid) FROM marts.mart_city_area_daily)",
        None,
        "marts.mart_city_area_daily.attention_share",
        "expect_column_values_to_be_between",
    ),
    "null_rate": (
        "mart_city_area_daily",
        "UPDATE marts.mart_city_area_daily SET city_name = NULL",
        None,
        "marts.mart_city_area_daily.city_name",
        "expect_column_values_to_not_be_null",
    ),
    "language_mix": (
        "fct_posts",
        "UPDATE marts.fct_posts SET lang = 'und' WHERE post_id % 3 <> 0",
        None,
        "marts.fct_posts.lang",
        "expect_column_values_to_not_be_in_set",
    ),
    "volume_anomaly": (
        "fct_posts",
        "DELETE FROM marts.fct_posts WHERE day = (SELECT max(day) FROM marts.fct_posts) "
        "AND post_id % 50 <> 0",
        None,
        "marts.fct_posts.day",
        "volume_vs_trailing_average",
    ),
}


def test_each_blocking_check_stops_publishing(built) -> None:
    url, _imports, _posts = built
    snapshot = (_checksum(url, "published"), _checksum(url, "published_detail"))
    for kind, (table, inject, undo, target, check) in FAULTS.items():
        _query(url, f"CREATE TABLE marts.{table}__backup AS TABLE marts.{table}")
        _query(url, inject)
        gate = validate(url)
        assert not gate.passed, kind
        failed = {(c.target, c.check_name) for c in gate.failures}
        assert any(t.startswith(target) and c == check for t, c in failed), (kind, failed)
        with pytest.raises(publish.GateNotPassed):
            publish.publish(url, gate.gate_run_id, k=K)
        assert (_checksum(url, "published"), _checksum(url, "published_detail")) == snapshot
        if undo:
            _query(url, undo)
        _query(url, f"TRUNCATE marts.{table}; INSERT INTO marts.{table} "
               f"SELECT * FROM marts.{table}__backup; DROP TABLE marts.{table}__backup")  # fmt: skip
        stored = _query(
            url,
            "SELECT count(*), bool_and(success) FROM quality.check_results WHERE gate_run_id = %s",
            (gate.gate_run_id,),
        )[0]
        assert stored[0] == len(gate.checks) and stored[1] is False
    assert validate(url).passed  # restored: the gate passes again
