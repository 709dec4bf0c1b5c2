"""Write-audit-publish: bad data makes the gate fail and `published` stays exactly as it was."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import psycopg2
import pytest

from core.publications import load_publications
from demo.generate import write_official_statistics, write_posts
from monitor import pipeline
from publication.publish import GateNotPassed, publish
from tests.conftest import TEST_PEPPER

pytestmark = pytest.mark.slow


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _snapshot(url: str) -> str:
    rows = [
        _query(url, f"SELECT * FROM published.{table} ORDER BY 1, 2, 3")
        for table in ("mart_city_area_daily", "dim_cities", "dim_integration_areas")
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_failed_gate_leaves_published_unchanged(warehouse_url: str, tmp_path: Path) -> None:
    imports = tmp_path / "imports"
    (imports / "posts").mkdir(parents=True)
    (imports / "statistics").mkdir()
    write_posts(imports / "posts" / "demo.ndjson", 600, seed=3)
    write_official_statistics(imports / "statistics" / "stats.csv", seed=3)
    pipeline.run_all(warehouse_url, imports, pepper=TEST_PEPPER)
    before = _snapshot(warehouse_url)
    published_rows = _query(warehouse_url, "SELECT count(*) FROM published.mart_city_area_daily")

    # A broken extractor lands posts without any words: their language cannot be determined,
    # which the language-mix check (a blocking Great Expectations check) must catch.
    garbage = [
        {
            "source": "broken_feed",
            "platform": "news",
            "external_id": f"g{i}",
            "created_at": "2026-07-01T08:00:00Z",
            "text": f"🙂 {i} 👍 ###",
            "city_code": "DE001C",
        }
        for i in range(400)
    ]
    (imports / "posts" / "broken.ndjson").write_text("".join(json.dumps(g) + "\n" for g in garbage))
    pipeline.ingest(warehouse_url, imports, pepper=TEST_PEPPER)
    pipeline.classify(warehouse_url)
    pipeline.build(warehouse_url)  # dbt's own tests pass: the fault is in the language mix
    with pytest.raises(pipeline.QualityGateFailed, match=r"fct_posts\.lang"):
        pipeline.audit(warehouse_url)

    assert _snapshot(warehouse_url) == before
    assert _query(warehouse_url, "SELECT count(*) FROM published.mart_city_area_daily") == (
        published_rows
    )
    runs = _query(
        warehouse_url, "SELECT gate_run_id, passed, published FROM quality.gate_runs ORDER BY 1"
    )
    assert [(p, pub) for _, p, pub in runs] == [(True, True), (False, False)]
    failed = _query(
        warehouse_url,
        "SELECT target, check_name FROM quality.check_results "
        f"WHERE gate_run_id = '{runs[1][0]}' AND NOT success AND severity = 'blocking'",
    )
    assert failed == [("marts.fct_posts.lang", "expect_column_values_to_not_be_in_set")]
    # Publishing a failed gate run is refused, whoever asks.
    with pytest.raises(GateNotPassed):
        publish(warehouse_url, runs[1][0])
    assert _snapshot(warehouse_url) == before


def test_gate_checks_catch_a_corrupted_mart(warehouse_url: str, tmp_path: Path) -> None:
    from expectations.gate import validate

    imports = tmp_path / "imports"
    (imports / "posts").mkdir(parents=True)
    write_posts(imports / "posts" / "demo.ndjson", 300, seed=5)
    pipeline.ingest(warehouse_url, imports, pepper=TEST_PEPPER)
    pipeline.classify(warehouse_url)
    pipeline.build(warehouse_url)
    assert validate(warehouse_url).passed
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE marts.mart_city_area_daily SET attention_share = 1.5, city_code = 'Berlin' "
            "WHERE ctid IN (SELECT ctid FROM marts.mart_city_area_daily LIMIT 3)"
        )
    gate = validate(warehouse_url)
    assert not gate.passed
    assert {(c.target, c.check_name) for c in gate.failures} == {
        ("marts.mart_city_area_daily.attention_share", "expect_column_values_to_be_between"),
        ("marts.mart_city_area_daily.city_code", "expect_column_values_to_match_regex"),
        ("marts.mart_city_area_daily.city_code", "expect_column_values_to_be_in_set"),
        ("marts.mart_city_area_daily.attention_share", "attention_share_is_posts_over_city_posts"),
    }

    # A published model that declares no suite blocks: nothing reaches users unchecked.
    unchecked = tuple(
        dataclasses.replace(p, suite=None) if p.table == "dim_countries" else p
        for p in load_publications()
    )
    gate = validate(warehouse_url, publications=unchecked)
    assert ("marts.dim_countries", "suite_declared") in {
        (c.target, c.check_name) for c in gate.failures
    }
