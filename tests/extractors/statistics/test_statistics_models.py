"""From landed statistics to the dbt facts: Eurostat (city and country tables, with a revision),
PxWeb, MIPEX and a statistics file go through the staging models and their tests into
fct_city_statistics and fct_country_statistics; source freshness holds after a fetch."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from extractors.statistics.client import statistics_client
from extractors.statistics.eurostat import EurostatClient
from extractors.statistics.ingest import import_mipex, ingest_eurostat_dataset, ingest_pxweb_table
from extractors.statistics.pxweb import PxwebClient
from extractors.statistics.simple_csv import import_simple_csv
from monitor.transform import run_dbt
from tests.extractors.statistics.conftest import local_config
from tests.extractors.statistics.replay import Answer, ReplayServer
from tests.extractors.statistics.test_eurostat import _asylum_csv, _urb_cpop1
from tests.extractors.statistics.wire import pxweb_jsonstat2

pytestmark = pytest.mark.slow

MODELS = [
    "+fct_city_statistics",
    "+fct_country_statistics",
    "dim_city_aliases",
    "stg_statistics__observation_flags",
    "stg_statistics__fetches",
    "stg_statistics__observation_versions",
]


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_statistics_reach_the_facts(
    warehouse_url: str, server: ReplayServer, tmp_path: Path
) -> None:
    cfg = local_config(server.url)
    no_wait = statistics_client(retries=0, sleep=lambda _: None)
    eurostat = EurostatClient(cfg.eurostat, http=no_wait, sleep=lambda _: None)
    # A city table fetched twice: Eurostat revises Malmö's 2023 population in between.
    server.route("GET", "/statistics/1.0/data/urb_cpop1", Answer(_urb_cpop1(362133, "p")))
    ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=eurostat)
    server.route("GET", "/statistics/1.0/data/urb_cpop1", Answer(_urb_cpop1(362500)))
    ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=eurostat)
    # A country table in SDMX-CSV 2.0.
    server.route(
        "GET",
        "/sdmx/3.0/data/dataflow/ESTAT/migr_asyappctza/1.0/*",
        Answer(_asylum_csv(), content_type="text/csv"),
    )
    ingest_eurostat_dataset(warehouse_url, "migr_asyappctza", config=cfg, client=eurostat)
    # A national table.
    server.route(
        "POST",
        "/pxweb/scb_population_municipalities",
        Answer(pxweb_jsonstat2([("1280", "Malmö")], ["2023"], [362133])),
    )
    ingest_pxweb_table(
        warehouse_url,
        "scb_population_municipalities",
        config=cfg,
        client=PxwebClient(cfg.pxweb, http=no_wait),
    )
    # MIPEX: two files in the configured layouts (made-up scores) that disagree on Austria.
    mipex = tmp_path / "mipex"
    mipex.mkdir()
    (mipex / "mipex2010_overall_30countries_manatschal_bernauer2016.csv").write_text(
        "short,mipex10\nAUT,42\nGRC,49\n"
    )
    (mipex / "mipex_overall_by_country_kvdbrach.csv").write_text("countries;mipex\nAustria;41\n")
    import_mipex(warehouse_url, mipex, config=cfg)
    # A statistics file (the demo's format).
    stats = tmp_path / "city_stats.csv"
    stats.write_text(
        "city_code,year,indicator,value,unit\nSE003C,2023,foreign_citizens_share,18.5,PC\n"
    )
    import_simple_csv(warehouse_url, stats, source="city_stats")

    # cautious: skip tests that also need models outside the selection (fct_posts -> dim_cities)
    run_dbt(warehouse_url, ["build", "--select", *MODELS, "--indirect-selection", "cautious"])

    city = _rows(
        warehouse_url,
        "SELECT source, indicator, period, value, unit, flag, versions, city_name "
        "FROM marts.fct_city_statistics WHERE city_code = 'SE003C' ORDER BY source, indicator, period",
    )
    assert city == [
        ("city_stats", "foreign_citizens_share", "2023", 18.5, "PC", None, 1, "Malmö"),
        ("eurostat:urb_cpop1", "population", "2022", 357377.0, "NR", None, 1, "Malmö"),
        ("eurostat:urb_cpop1", "population", "2023", 362500.0, "NR", None, 2, "Malmö"),
        ("eurostat:urb_cpop1", "urb_cpop1.DE1002V", "2023", 177000.0, "NR", None, 1, "Malmö"),
        (
            "pxweb:scb_population_municipalities",
            "population",
            "2023",
            362133.0,
            "NR",
            None,
            1,
            "Malmö",
        ),
    ]
    confidential = _rows(
        warehouse_url,
        "SELECT value, is_confidential FROM marts.fct_city_statistics "
        "WHERE city_code = 'EL001C' AND period = '2023'",
    )
    assert confidential == [(None, True)]
    # The revision stays visible in staging.
    history = _rows(
        warehouse_url,
        "SELECT version_number, value, previous_value, flags, is_latest "
        "FROM staging.stg_statistics__observation_versions "
        "WHERE geo_code = 'SE003C' AND period = '2023' AND indicator = 'population' "
        "AND provider = 'eurostat' ORDER BY version_number",
    )
    assert history == [(1, 362133.0, None, "p", False), (2, 362500.0, 362133.0, None, True)]

    country = _rows(
        warehouse_url,
        "SELECT country_code, indicator, period, value, unit, flag, sources_disagree "
        "FROM marts.fct_country_statistics WHERE country_code IN ('EL', 'AT') "
        "ORDER BY country_code, indicator, source",
    )
    assert (
        "EL",
        "migr_asyappctza.TOTAL.T.PER.TOTAL.ASY_APP",
        "2023",
        64275.0,
        "PER",
        "p",
        False,
    ) in country
    assert ("AT", "mipex_overall", "2010", 42.0, "SCORE", None, True) in country
    assert ("AT", "mipex_overall", "2010", 41.0, "SCORE", None, True) in country
    assert ("EL", "mipex_overall", "2010", 49.0, "SCORE", None, False) in country
    # Aggregates are not countries.
    assert _rows(
        warehouse_url,
        "SELECT count(*) FROM marts.fct_country_statistics WHERE country_code LIKE 'EU%'",
    ) == [(0,)]
    assert _rows(
        warehouse_url, "SELECT flag FROM staging.stg_statistics__observation_flags ORDER BY 1"
    ) == [("p",)]
    aliases = _rows(
        warehouse_url,
        "SELECT alias_type, alias_name FROM marts.dim_city_aliases WHERE city_code = 'BE001C' "
        "AND alias_type IN ('native', 'hashtag') ORDER BY 1, 2",
    )
    assert aliases == [
        ("hashtag", "#brussel"),
        ("hashtag", "#brussels"),
        ("hashtag", "#bruxelles"),
        ("native", "Brussel"),
        ("native", "Bruxelles"),
    ]

    # Every dataset was fetched just now: the source is fresh.
    freshness = run_dbt(warehouse_url, ["source", "freshness", "--select", "source:statistics"])
    assert {n["status"] for n in freshness} == {"pass"}
