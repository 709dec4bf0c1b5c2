"""The PxWeb connector (API v1: POST a query, json-stat2 back) against a local HTTP server, with
the project's configured Statistics Sweden table."""

from __future__ import annotations

import json

import psycopg2
import pytest

from core.http import FetchError
from extractors.statistics.client import statistics_client
from extractors.statistics.ingest import ingest_pxweb_table
from extractors.statistics.pxweb import PxwebClient
from tests.extractors.statistics.conftest import local_config
from tests.extractors.statistics.replay import Answer, ReplayServer
from tests.extractors.statistics.wire import pxweb_jsonstat2

TABLE = "scb_population_municipalities"


def _client(cfg) -> PxwebClient:
    return PxwebClient(cfg.pxweb, http=statistics_client(retries=1, sleep=lambda _: None))


def test_configured_scb_table_is_a_real_pxweb_v1_query(project_config) -> None:
    table = project_config.pxweb_table(TABLE)
    assert table.url.startswith("https://api.scb.se/OV0104/v1/doris/")
    body = PxwebClient.query_body(table)
    assert body["response"] == {"format": "json-stat2"}
    codes = [q["code"] for q in body["query"]]
    assert codes == ["Region", "ContentsCode", "Tid"]
    regions = body["query"][0]["selection"]["values"]
    # Every queried municipality maps to a city of the gazetteer.
    assert set(regions) == set(table.geo_map)
    assert table.geo_map["1280"] == "SE003C" and table.geo_map["0180"] == "SE001C"


def test_pxweb_table_lands_with_city_codes_units_and_symbols(
    warehouse_url: str, server: ReplayServer
) -> None:
    cfg = local_config(server.url)
    answer = pxweb_jsonstat2(
        [("0180", "Stockholm"), ("1280", "Malmö"), ("9999", "Somewhere unmapped")],
        ["2022", "2023"],
        [978770, 984748, 357377, None, 1000, 1100],
        status={3: ".."},
    )
    server.route("POST", f"/pxweb/{TABLE}", Answer(answer))
    report = ingest_pxweb_table(warehouse_url, TABLE, config=cfg, client=_client(cfg))
    assert report["observations"] == 4 and report["rejected"] == 1

    sent = json.loads(server.requests[0].body)
    assert sent["response"] == {"format": "json-stat2"}
    assert sent["query"][0]["code"] == "Region"

    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT geo_code, geo_label, period, indicator, unit, value, flags, status_raw "
            "FROM raw.statistics_observations ORDER BY geo_code, period"
        )
        rows = cur.fetchall()
        cur.execute(
            "SELECT position, reason FROM raw.rejected_records WHERE source = %s",
            (f"pxweb:{TABLE}",),
        )
        rejected = cur.fetchall()
    assert rows == [
        ("SE001C", "Stockholm", "2022", "population", "NR", 978770.0, "", None),
        ("SE001C", "Stockholm", "2023", "population", "NR", 984748.0, "", None),
        ("SE003C", "Malmö", "2022", "population", "NR", 357377.0, "", None),
        ("SE003C", "Malmö", "2023", "population", "NR", None, "m", ".."),
    ]
    assert rejected == [("Region=9999", rejected[0][1])]
    assert "unknown geography '9999'" in rejected[0][1] and "geo_map" in rejected[0][1]

    again = ingest_pxweb_table(warehouse_url, TABLE, config=cfg, client=_client(cfg))
    assert (again["new_series"], again["unchanged"]) == (0, 4)


def test_pxweb_query_errors_name_the_table(server: ReplayServer) -> None:
    cfg = local_config(server.url)
    server.route(
        "POST",
        f"/pxweb/{TABLE}",
        Answer(b"Bad Request: Tid 2099 does not exist", 400, "text/plain"),
    )
    with pytest.raises(FetchError, match=rf"POST .*/pxweb/{TABLE}: HTTP 400.*Tid 2099"):
        _client(cfg).fetch(cfg.pxweb_table(TABLE))
