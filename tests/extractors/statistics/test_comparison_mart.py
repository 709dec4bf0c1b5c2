"""The city comparison mart on real Eurostat indicator ids: the dbt unit test
`city_comparison_from_eurostat_indicators` feeds it Malmö's urb_cpop1, urb_cpopcb and urb_clma
rows and Sweden's lfsa_urgan and MIPEX rows as they land in the facts, through the seed
`comparison_indicators`, and checks every column it fills."""

from __future__ import annotations

import csv

import pytest
import yaml

from monitor.transform import DBT_DIR, run_dbt

pytestmark = pytest.mark.slow


def test_comparison_unit_test_on_eurostat_rows(warehouse_url: str) -> None:
    run_dbt(warehouse_url, ["seed", "--select", "comparison_indicators", "cities", "countries"])
    # Unit tests read the column types of the model's parents: build them (on empty sources).
    run_dbt(warehouse_url, ["run", "--select", "+mart_city_comparison"])
    results = run_dbt(
        warehouse_url,
        ["test", "--select", "mart_city_comparison,test_type:unit", "comparison_indicators"],
    )
    names = {r["node"].split(".")[-1]: r["status"] for r in results}
    assert names.get("city_comparison_from_eurostat_indicators") == "pass", results
    assert all(r["status"] == "pass" for r in results), results


def test_unit_test_fixture_is_the_seed() -> None:
    """The unit test's mapping rows are exactly the seed's (indicator, level, column, method,
    priority), so the test exercises the mapping the mart really uses."""
    spec = yaml.safe_load((DBT_DIR / "models/marts/comparison/_comparison__models.yml").read_text())
    (unit,) = [
        u for u in spec["unit_tests"] if u["name"] == "city_comparison_from_eurostat_indicators"
    ]
    (given,) = [g for g in unit["given"] if g["input"] == "ref('comparison_indicators')"]
    fixture = list(csv.DictReader(given["rows"].strip().splitlines()))
    with (DBT_DIR / "seeds/comparison_indicators.csv").open(encoding="utf-8", newline="") as f:
        seed = [{k: r[k] for k in fixture[0]} for r in csv.DictReader(f)]
    assert fixture == seed
