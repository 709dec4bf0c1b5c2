"""Each rule of the suites, one test each: a fault injected into one mart (an UPDATE of one
row) fails the gate on that check, publishing is refused both for the failed gate run and for
the earlier passing one (it validated other data), and `published` stays exactly as it was.

The gate runs the suite of the mart at fault (plus the volume and fingerprint checks), which is
what the full gate runs for that mart; the full gate passes on the built marts."""

from __future__ import annotations

import pytest

from core.publications import load_publications
from expectations.gate import validate
from publication import publish
from tests.expectations.conftest import K, published_checksum, query, restored

pytestmark = pytest.mark.slow

NN = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
GREATER = "expect_column_pair_values_a_to_be_greater_than_b"
UNIQUE = "expect_compound_columns_to_be_unique"


def one_row(table: str, assignment: str, where: str = "true") -> str:
    return (
        f"UPDATE marts.{table} SET {assignment} WHERE ctid = "
        f"(SELECT min(ctid) FROM marts.{table} WHERE {where})"
    )


DAILY = "mart_city_area_daily"
# The demo period has few spikes and no permit statistics: those marts may be empty, so their
# faults insert a row (valid but for the fault) instead of changing one.
FOCAL = (
    "INSERT INTO marts.mart_focal_points (city_code, city_name, country_code, area_id, "
    "area_label, day, posts, baseline_days, baseline_median, baseline_mad, robust_z) "
    "SELECT city_code, city_name, country_code, {area}, area_label, day, posts, 28, 1, 0, "
    "{z} FROM (SELECT *, (posts - 1) / 1.0 AS robust_z FROM marts.mart_city_area_daily "
    "ORDER BY posts DESC LIMIT 1) AS cell"
)
# id: (table, fault, failing column (or the column list), failing check)
RULES = {
    "daily_area_id_not_null": (DAILY, one_row(DAILY, "area_id = NULL"), "area_id", NN),
    "daily_country_code_not_null": (
        DAILY, one_row(DAILY, "country_code = NULL"), "country_code", NN),
    "daily_attention_share_not_zero": (
        DAILY, one_row(DAILY, "attention_share = 0"), "attention_share", BETWEEN),
    "daily_attention_share_not_above_one": (
        DAILY, one_row(DAILY, "attention_share = 1.01"), "attention_share", BETWEEN),
    "daily_attention_share_is_posts_over_city_posts": (
        DAILY, one_row(DAILY, "attention_share = attention_share * 0.5"), "attention_share",
        "attention_share_is_posts_over_city_posts"),
    "daily_grain_unique": (
        DAILY, f"INSERT INTO marts.{DAILY} SELECT * FROM marts.{DAILY} LIMIT 1",
        ["city_code", "area_id", "day"], UNIQUE),
    "daily_area_id_accepted": (
        DAILY, one_row(DAILY, "area_id = 'not_an_area'"), "area_id", IN_SET),
    "daily_country_code_accepted": (
        DAILY, one_row(DAILY, "country_code = 'XX'"), "country_code", IN_SET),
    "daily_city_code_accepted": (
        DAILY, one_row(DAILY, "city_code = 'ZZ999C'"), "city_code", IN_SET),
    "daily_sentiment_posts_within_posts": (
        DAILY, one_row(DAILY, "sentiment_posts = posts + 1"), ["posts", "sentiment_posts"],
        GREATER),
    "daily_hate_classified_posts_within_posts": (
        DAILY, one_row(DAILY, "hate_classified_posts = posts + 1"),
        ["posts", "hate_classified_posts"], GREATER),
    "weekly_attention_share_is_posts_over_city_posts": (
        "mart_city_area_weekly", one_row("mart_city_area_weekly", "city_posts = city_posts + 7"),
        "attention_share", "attention_share_is_posts_over_city_posts"),
    "weekly_area_id_not_null": (
        "mart_city_area_weekly", one_row("mart_city_area_weekly", "area_id = NULL"), "area_id",
        NN),
    "monthly_attention_share_not_zero": (
        "mart_city_area_monthly", one_row("mart_city_area_monthly", "attention_share = 0"),
        "attention_share", BETWEEN),
    "monthly_country_code_accepted": (
        "mart_city_area_monthly", one_row("mart_city_area_monthly", "country_code = 'GR'"),
        "country_code", IN_SET),
    "keywords_share_not_zero": (
        "mart_keywords_daily", one_row("mart_keywords_daily", "share_of_city_posts = 0"),
        "share_of_city_posts", BETWEEN),
    "keywords_share_is_posts_over_city_posts": (
        "mart_keywords_daily", one_row("mart_keywords_daily", "posts = posts + 1"),
        "share_of_city_posts", "share_of_city_posts_is_posts_over_city_posts"),
    "keywords_taxonomy_label_is_an_area": (
        "mart_keywords_daily",
        one_row("mart_keywords_daily", "label = 'not_an_area'", "kind = 'taxonomy'"),
        "label", "taxonomy_label_is_an_area"),
    "keywords_country_code_not_null": (
        "mart_keywords_daily", one_row("mart_keywords_daily", "country_code = NULL"),
        "country_code", NN),
    "coverage_lang_accepted": (
        "mart_source_coverage", one_row("mart_source_coverage", "lang = 'xx'"), "lang", IN_SET),
    "coverage_shares_sum_to_one": (
        "mart_source_coverage",
        one_row("mart_source_coverage", "share_of_city_month = share_of_city_month * 0.5"),
        "share_of_city_month", "shares_of_city_month_sum_to_one"),
    "coverage_share_not_zero": (
        "mart_source_coverage", one_row("mart_source_coverage", "share_of_city_month = 0"),
        "share_of_city_month", BETWEEN),
    "coverage_city_code_is_a_city": (
        "mart_source_coverage", one_row("mart_source_coverage", "city_code = 'ZZ999C'"),
        "city_code", "city_code_is_a_city_or_unknown"),
    "coverage_active_days_in_month": (
        "mart_source_coverage", one_row("mart_source_coverage", "active_days = 0"),
        "active_days", BETWEEN),
    "comparison_posts_per_100k_is_posts_over_population": (
        "mart_city_comparison",
        one_row("mart_city_comparison", "posts_per_100k = posts_per_100k * 2",
                "population > 0"),
        "posts_per_100k", "posts_per_100k_is_posts_over_population"),
    "comparison_country_code_accepted": (
        "mart_city_comparison", one_row("mart_city_comparison", "country_code = 'XX'"),
        "country_code", IN_SET),
    "comparison_city_code_not_null": (
        "mart_city_comparison", one_row("mart_city_comparison", "city_code = NULL"),
        "city_code", NN),
    "reactions_posts_difference_is_after_minus_before": (
        "mart_event_reactions",
        one_row("mart_event_reactions", "posts_difference = posts_difference + 1"),
        "posts_difference", "posts_difference_is_after_minus_before"),
    "reactions_code_in_scope": (
        "mart_event_reactions", one_row("mart_event_reactions", "code = 'ZZ999C'"),
        "code", "code_is_a_city_or_country_of_its_scope"),
    "reactions_kind_accepted": (
        "mart_event_reactions", one_row("mart_event_reactions", "kind = 'rumour'"), "kind",
        IN_SET),
    "reactions_event_id_not_null": (
        "mart_event_reactions", one_row("mart_event_reactions", "event_id = NULL"), "event_id",
        NN),
    "labour_employment_share_is_permits_over_total": (
        "mart_labour_migration",
        "INSERT INTO marts.mart_labour_migration (country_code, country_name, year, "
        "permits_total, permits_employment, employment_share) "
        "VALUES ('DE', 'Germany', 2024, 1000, 500, 0.9)",
        "employment_share", "employment_share_is_permits_employment_over_permits_total"),
    "labour_country_code_accepted": (
        "mart_labour_migration",
        "INSERT INTO marts.mart_labour_migration (country_code, country_name, year) "
        "VALUES ('XX', 'Nowhere', 2024)",
        "country_code", IN_SET),
    "focal_robust_z_is_the_scaled_deviation": (
        "mart_focal_points", FOCAL.format(z="robust_z + 1", area="area_id"),
        "robust_z", "robust_z_is_the_scaled_deviation"),
    "focal_area_id_accepted": (
        "mart_focal_points", FOCAL.format(z="robust_z", area="'not_an_area'"),
        "area_id", IN_SET),
    "posts_area_count_is_the_number_of_areas": (
        "fct_posts", one_row("fct_posts", "area_count = area_count + 1"), "area_count",
        "area_count_is_the_number_of_areas"),
    "posts_areas_are_taxonomy_areas": (
        "fct_posts", one_row("fct_posts", "areas = array['not_an_area']", "area_count = 1"),
        "areas", "areas_are_taxonomy_areas"),
    "posts_lang_accepted": ("fct_posts", one_row("fct_posts", "lang = 'xx'"), "lang", IN_SET),
    "posts_post_id_not_null": (
        "fct_posts", one_row("fct_posts", "post_id = NULL"), "post_id", NN),
    "posts_sentiment_accepted": (
        "fct_posts", one_row("fct_posts", "sentiment = 'angry'"), "sentiment", IN_SET),
    "keyword_contexts_taxonomy_label_is_an_area": (
        "fct_keyword_contexts",
        one_row("fct_keyword_contexts", "label = 'not_an_area'", "kind = 'taxonomy'"),
        "label", "taxonomy_label_is_an_area"),
    "city_statistics_city_code_accepted": (
        "fct_city_statistics", one_row("fct_city_statistics", "city_code = 'ZZ999C'"),
        "city_code", IN_SET),
    "city_statistics_population_plausible": (
        "fct_city_statistics",
        one_row("fct_city_statistics", "value = 0", "indicator = 'population'"),
        "value", "population_is_plausible"),
    "country_statistics_country_code_accepted": (
        "fct_country_statistics",
        "INSERT INTO marts.fct_country_statistics (country_code, country_name, indicator, "
        "period, source, provider, versions) "
        "VALUES ('XX', 'Nowhere', 'population', '2024', 'eurostat:x', 'eurostat', 1)",
        "country_code", IN_SET),
    "cities_country_code_accepted": (
        "dim_cities", one_row("dim_cities", "country_code = 'GR'"), "country_code", IN_SET),
    "countries_country_code_not_null": (
        "dim_countries", one_row("dim_countries", "country_code = NULL"), "country_code", NN),
    "areas_dimension_not_null": (
        "dim_integration_areas", one_row("dim_integration_areas", "dimension = NULL"),
        "dimension", NN),
}  # fmt: skip


@pytest.fixture(scope="module")
def passing(built: str) -> str:
    """A full gate run that passed on the built marts."""
    gate = validate(built)
    assert gate.passed, gate.summary()
    return gate.gate_run_id


def test_the_built_marts_pass_every_suite_and_publish(built: str, passing: str) -> None:
    publish.publish(built, passing, k=K)


@pytest.mark.parametrize(("table", "fault", "column", "check"), RULES.values(), ids=RULES)
def test_rule(built: str, passing: str, table: str, fault: str, column, check: str) -> None:
    pub = next(p for p in load_publications() if p.table == table)
    before = published_checksum(built)
    with restored(built, table):
        with_fault = query(built, fault + " RETURNING 1")
        assert with_fault, f"the fault changed no row of marts.{table}"
        gate = validate(built, publications=(pub,))
        assert not gate.passed
        failed = {(c.target, c.check_name) for c in gate.failures}
        assert (f"marts.{table}.{column}", check) in failed, failed
        stored = query(
            built,
            "SELECT success FROM quality.check_results WHERE gate_run_id = %s AND "
            "target = %s AND check_name = %s",
            (gate.gate_run_id, f"marts.{table}.{column}", check),
        )
        assert stored == [(False,)]
        with pytest.raises(publish.GateNotPassed, match="did not pass"):
            publish.publish(built, gate.gate_run_id, k=K)
        with pytest.raises(publish.GateNotPassed, match="validated other data"):
            publish.publish(built, passing, k=K)
        assert published_checksum(built) == before
    # Restored: the marts are again what the passing run validated (publish's own check), so
    # the next rule starts from data that publishes.
    tables = sorted(p.table for p in load_publications())
    assert query(built, "SELECT quality.tables_fingerprint('marts', %s)", (tables,)) == query(
        built, "SELECT fingerprint FROM quality.gate_runs WHERE gate_run_id = %s", (passing,)
    )
