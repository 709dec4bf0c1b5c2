"""The Eurostat connector against a local HTTP server replaying the API's wire formats: the
request it sends, versions and revisions in the warehouse, idempotent re-runs, the asynchronous
answer for large queries, retries, and clear errors."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from core.http import FetchError
from extractors.statistics.client import statistics_client
from extractors.statistics.eurostat import AsyncExtractionError, EurostatClient
from extractors.statistics.ingest import ingest_eurostat_dataset
from extractors.statistics.reference import geo_resolver
from tests.extractors.statistics.conftest import local_config
from tests.extractors.statistics.replay import Answer, ReplayServer
from tests.extractors.statistics.wire import (
    async_queued,
    async_status,
    jsonstat_dataset,
    sdmx_csv_20,
    zipped,
)

STATS = "/statistics/1.0/data/"
SDMX3 = "/sdmx/3.0/data/dataflow/ESTAT/"


def _no_wait(_: float) -> None:
    pass


def _client(cfg) -> EurostatClient:
    return EurostatClient(
        cfg.eurostat, http=statistics_client(retries=2, sleep=_no_wait), sleep=_no_wait
    )


def _query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def _urb_cpop1(malmo_2023: float, malmo_flag: str | None = None) -> bytes:
    dims = [
        ("freq", "Time frequency", [("A", "Annual")]),
        (
            "indic_ur",
            "Urban audit indicator",
            [
                ("DE1001V", "Population on the 1st of January, total"),
                ("DE1002V", "Population on the 1st of January, male"),
            ],
        ),
        (
            "cities",
            "Geopolitical entity (declaring)",
            [("SE003C", "Malmö"), ("NL037C", "Rotterdam"), ("EL001C", "Athina")],
        ),
        ("time", "Time", [("2022", "2022"), ("2023", "2023")]),
    ]
    values = {
        ("A", "DE1001V", "SE003C", "2022"): 357377,
        ("A", "DE1001V", "SE003C", "2023"): malmo_2023,
        ("A", "DE1002V", "SE003C", "2023"): 177000,
        ("A", "DE1001V", "NL037C", "2022"): 655468,
        ("A", "DE1001V", "NL037C", "2023"): 664311,
        ("A", "DE1001V", "EL001C", "2022"): 643452,
    }
    status = {("A", "DE1001V", "SE003C", "2023"): malmo_flag} if malmo_flag else {}
    status[("A", "DE1001V", "EL001C", "2023")] = "|C"
    return jsonstat_dataset(dims, values, status=status, label="Population on 1 January - cities")


def test_jsonstat_request_versions_and_idempotent_reruns(
    warehouse_url: str, server: ReplayServer
) -> None:
    cfg = local_config(server.url)
    server.route("GET", STATS + "urb_cpop1", Answer(_urb_cpop1(362133, "p")))
    first = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=_client(cfg))
    assert (first["observations"], first["new_series"], first["revised"]) == (7, 7, 0)

    # The request: JSON, English, since the configured period, indicators, and every city of
    # the gazetteer in the Urban Audit `cities` dimension.
    req = server.requests[-1]
    assert req.params("format") == ["JSON"] and req.params("lang") == ["EN"]
    assert req.params("sinceTimePeriod") == ["2010"]
    assert req.params("indic_ur") == ["DE1001V", "DE1002V", "DE1003V"]
    assert req.params("cities") == geo_resolver().city_codes
    assert len(req.params("cities")) >= 100

    rows = _query(
        warehouse_url,
        "SELECT geo_code, period, indicator, unit, value, flags, confidential "
        "FROM raw.statistics_observations ORDER BY geo_code, indicator, period",
    )
    assert ("SE003C", "2023", "population", "NR", 362133.0, "p", False) in rows
    assert ("SE003C", "2023", "urb_cpop1.DE1002V", "NR", 177000.0, "", False) in rows
    assert ("EL001C", "2023", "population", "NR", None, "", True) in rows  # confidential, kept

    # Same answer again: nothing new is written (idempotent), but the fetch is logged.
    again = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=_client(cfg))
    assert (again["new_series"], again["revised"], again["unchanged"]) == (0, 0, 7)
    assert _query(warehouse_url, "SELECT count(*) FROM raw.statistics_observations") == [(7,)]

    # Eurostat revises Malmö 2023 (value and flag): a new version; the old one stays.
    server.route("GET", STATS + "urb_cpop1", Answer(_urb_cpop1(362500)))
    revised = ingest_eurostat_dataset(warehouse_url, "urb_cpop1", config=cfg, client=_client(cfg))
    assert (revised["new_series"], revised["revised"], revised["unchanged"]) == (0, 1, 6)
    versions = _query(
        warehouse_url,
        "SELECT value, flags FROM raw.statistics_observations WHERE geo_code = 'SE003C' "
        "AND period = '2023' AND indicator = 'population' ORDER BY fetched_at",
    )
    assert versions == [(362133.0, "p"), (362500.0, "")]
    fetches = _query(
        warehouse_url,
        "SELECT f.data_format, f.new_series, f.revised, f.unchanged, r.status, r.source "
        "FROM raw.statistics_fetches f JOIN raw.import_runs r USING (run_id) ORDER BY fetch_id",
    )
    assert fetches == [
        ("jsonstat", 7, 0, 0, "succeeded", "eurostat:urb_cpop1"),
        ("jsonstat", 0, 0, 7, "succeeded", "eurostat:urb_cpop1"),
        ("jsonstat", 0, 1, 6, "succeeded", "eurostat:urb_cpop1"),
    ]


def _asylum_csv() -> bytes:
    dims = [
        ("freq", "Time frequency"),
        ("citizen", "Country of citizenship"),
        ("sex", "Sex"),
        ("unit", "Unit of measure"),
        ("age", "Age class"),
        ("asyl_app", "Applicant type"),
        ("geo", "Geopolitical entity (reporting)"),
    ]
    base = [
        ("A", "Annual"),
        ("TOTAL", "Total"),
        ("T", "Total"),
        ("PER", "Person"),
        ("TOTAL", "Total"),
        ("ASY_APP", "Asylum applicant"),
    ]
    return sdmx_csv_20(
        "MIGR_ASYAPPCTZA",
        "Asylum applicants by type, citizenship, age and sex - annual aggregated data",
        dims,
        [
            ([*base, ("SE", "Sweden")], "2023", "12645", "", ""),
            ([*base, ("EL", "Greece")], "2023", "64275", "p", ""),
            (
                [*base, ("EU27_2020", "European Union - 27 countries (from 2020)")],
                "2023",
                "1129495",
                "",
                "",
            ),
        ],
    )


def test_asynchronous_answer_is_polled_until_available(
    warehouse_url: str, server: ReplayServer
) -> None:
    cfg = local_config(server.url)
    key = "7bd9b6f1-3f3e-4c7e-9a52-4f2d1c9e0a11"
    server.route(
        "GET",
        SDMX3 + "migr_asyappctza/1.0/*",
        Answer(async_queued(key), content_type="application/xml"),
    )
    server.route(
        "GET",
        f"/1.0/async/status/{key}",
        Answer(async_status(key, "SUBMITTED"), content_type="application/xml"),
        Answer(async_status(key, "PROCESSING"), content_type="application/xml"),
        Answer(async_status(key, "AVAILABLE"), content_type="application/xml"),
    )
    server.route(
        "GET",
        f"/1.0/async/data/{key}",
        Answer(zipped("data.csv", _asylum_csv()), content_type="application/zip"),
    )
    report = ingest_eurostat_dataset(
        warehouse_url, "migr_asyappctza", config=cfg, client=_client(cfg)
    )
    assert report["observations"] == 3 and report["rejected"] == 0
    paths = [r.path for r in server.requests]
    assert paths.count(f"/1.0/async/status/{key}") == 3
    assert paths[-1] == f"/1.0/async/data/{key}"
    first = server.requests[0]
    assert first.params("format") == ["csvdata"] and first.params("formatVersion") == ["2.0"]
    assert first.params("c[citizen]") == ["TOTAL"]
    assert first.params("c[asyl_app]") == ["ASY_APP,NASY_APP"]
    assert first.params("c[TIME_PERIOD]") == ["ge:2010"]
    geo = first.params("c[geo]")[0].split(",")
    assert {"EL", "UK", "SE", "NO", "CH"} <= set(geo) and "GR" not in geo
    rows = _query(
        warehouse_url,
        "SELECT geo_code, value, flags, data_format FROM raw.statistics_observations "
        "JOIN raw.statistics_fetches USING (fetch_id) ORDER BY geo_code",
    )
    assert rows == [
        ("EL", 64275.0, "p", "sdmx-csv-2.0"),
        ("EU27_2020", 1129495.0, "", "sdmx-csv-2.0"),
        ("SE", 12645.0, "", "sdmx-csv-2.0"),
    ]


def test_expired_async_extraction_fails_with_the_key(
    warehouse_url: str, server: ReplayServer
) -> None:
    cfg = local_config(server.url)
    server.route(
        "GET", SDMX3 + "migr_resfirst/1.0/*", Answer(async_queued("k-1"), content_type="text/xml")
    )
    server.route(
        "GET",
        "/1.0/async/status/k-1",
        Answer(async_status("k-1", "EXPIRED"), content_type="text/xml"),
    )
    with pytest.raises(AsyncExtractionError, match="k-1 ended with EXPIRED"):
        ingest_eurostat_dataset(warehouse_url, "migr_resfirst", config=cfg, client=_client(cfg))
    # Nothing half-landed.
    assert _query(warehouse_url, "SELECT count(*) FROM raw.statistics_fetches") == [(0,)]


def test_async_extraction_that_never_finishes_times_out(server: ReplayServer) -> None:
    cfg = local_config(server.url)
    server.route(
        "GET", SDMX3 + "migr_resfirst/1.0/*", Answer(async_queued("k-2"), content_type="text/xml")
    )
    server.route(
        "GET",
        "/1.0/async/status/k-2",
        Answer(async_status("k-2", "PROCESSING"), content_type="text/xml"),
    )
    clock = iter(range(0, 10_000, 3))
    client = EurostatClient(
        cfg.eurostat,
        http=statistics_client(retries=0, sleep=_no_wait),
        sleep=_no_wait,
        clock=lambda: next(clock),
    )
    with pytest.raises(AsyncExtractionError, match=r"not ready after 5s.*async_max_wait_seconds"):
        client.fetch(cfg.eurostat_dataset("migr_resfirst"), ["SE"])


def test_transient_errors_are_retried_and_bad_queries_explained(server: ReplayServer) -> None:
    cfg = local_config(server.url)
    ds = cfg.eurostat_dataset("migr_pop1ctz")
    body = b'{"version":"2.0","class":"dataset","id":[],"size":[]}'
    server.route(
        "GET",
        STATS + "migr_pop1ctz",
        Answer(b"busy", 503, "text/plain", {"Retry-After": "0"}),
        Answer(body),
    )
    assert _client(cfg).fetch(ds, ["SE"]).body == body
    assert len(server.requests) == 2
    error = b'{"error":{"status":400,"label":"Dimension \'citizn\' does not exist"}}'
    server.route("GET", STATS + "migr_pop1ctz", Answer(error, 400))
    with pytest.raises(FetchError, match=r"HTTP 400.*citizn"):
        _client(cfg).fetch(ds, ["SE"])
    assert len(server.requests) == 3  # a 400 is not retried


def test_real_answers_replayed_through_the_connector(
    warehouse_url: str, server: ReplayServer, eurostat_dir: Path
) -> None:
    """The shared real files served as the API would: SDMX-CSV 2.0 (lfsa_egan) and the
    all-confidential JSON-stat answer."""
    egan = eurostat_dir / "sdmx_csv" / "employment_by_citizenship.csv"
    confidential = eurostat_dir / "jsonstat" / "sts-inpr-m-ie-confidential.json"
    if not (egan.is_file() and confidential.is_file()):
        pytest.skip("shared Eurostat files missing")
    cfg = local_config(server.url)
    server.route(
        "GET", SDMX3 + "lfsa_egan/1.0/*", Answer(egan.read_bytes(), content_type="text/csv")
    )
    report = ingest_eurostat_dataset(warehouse_url, "lfsa_egan", config=cfg, client=_client(cfg))
    with egan.open(encoding="utf-8") as f:
        data_rows = sum(1 for _ in f) - 1
    assert report["observations"] == report["new_series"] == data_rows
    assert report["rejected"] == 0
    flags = dict(
        _query(
            warehouse_url,
            "SELECT flags, count(*) FROM raw.statistics_observations GROUP BY flags",
        )
    )
    assert {"b", "d", "bd"} <= set(flags)

    # A JSON-stat answer can be routed the same way: every cell confidential.
    cfg2 = local_config(server.url)
    server.route("GET", STATS + "migr_pop1ctz", Answer(confidential.read_bytes()))
    rules = cfg2.eurostat_dataset("migr_pop1ctz")
    fetched = _client(cfg2).fetch(rules, ["IE"])
    from extractors.statistics.eurostat import parse_eurostat

    table = parse_eurostat(fetched.body, dataset="sts_inpr_m", data_format="jsonstat")
    assert all(o.confidential and o.value is None for o in table.observations)
