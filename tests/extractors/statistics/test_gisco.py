"""Urban Audit cities from GISCO: a local server replays a GeoJSON written in GISCO's format
(URAU_LB_<year>_4326_CITIES.geojson, properties as GISCO documents them), the loader lands it,
reports how it compares with the seed, and dim_cities gains the cities the seed lacks while the
seed's names and tags win. When the shared Urban Audit gazetteer is present, a GISCO-format file
built from it is reconciled with the seed too."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psycopg2
import pytest

from extractors.statistics.client import statistics_client
from extractors.statistics.gisco import (
    geometry_point,
    parse_gisco_cities,
    read_seed,
    reconcile,
)
from extractors.statistics.ingest import load_reference_cities, requested_city_codes
from monitor.transform import run_dbt
from tests.extractors.statistics.conftest import local_config
from tests.extractors.statistics.replay import Answer, ReplayServer

GAZETTEER = "urban_audit_cities_854_codes_coords.csv"


def _feature(code: str, name: str, nuts3: str, lon: float, lat: float, **extra: object) -> dict:
    """One feature as GISCO writes it in the Urban Audit CITIES label-point file."""
    props = {
        "URAU_CODE": code,
        "URAU_CATG": "C",
        "CNTR_CODE": code[:2],
        "URAU_NAME": name,
        "CITY_CPTL": None,
        "FUA_CODE": code[:5] + "F",
        "AREA_SQM": 150.5,
        "NUTS3_2021": nuts3,
        "FID": code,
        **extra,
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
        "id": code,
    }


def _geojson(features: list[dict]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
            "features": features,
        },
        ensure_ascii=False,
    ).encode()


def _fixture() -> bytes:
    square = [[12.9, 55.55], [13.1, 55.55], [13.1, 55.65], [12.9, 55.65], [12.9, 55.55]]
    return _geojson(
        [
            _feature("AT001C", "Wien", "AT130", 16.3725, 48.2084, CITY_CPTL="Y"),
            _feature("DE004C", "Köln", "DEA23", 6.9578, 50.9413),
            # A boundary instead of a point: the centroid is used.
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [square]},
                "properties": {
                    "URAU_CODE": "SE003C",
                    "URAU_CATG": "C",
                    "CNTR_CODE": "SE",
                    "URAU_NAME": "Malmö",
                    "NUTS3_2021": "SE224",
                },
            },
            # A code the seed lacks (as a new GISCO revision would bring): added from GISCO.
            _feature("DE555C", "Waldkirch", "DE131", 7.8421, 47.9990),
            # In GISCO but outside the map's extent (Réunion): landed, not added to dim_cities.
            _feature("FR205C", "Saint-Denis (Réunion)", "FRY40", 55.4481, -20.8823),
            # A greater city and a malformed code: skipped, rejected.
            _feature("DE001K", "Berlin", "DE300", 13.4, 52.5),
            _feature("XX1C", "Nowhere", "", 0.0, 0.0),
        ]
    )


def test_geometry_point_and_parsing() -> None:
    assert geometry_point({"type": "Point", "coordinates": [13.0, 55.6]}) == (13.0, 55.6)
    lon, lat = geometry_point(
        {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    )
    assert (round(lon, 9), round(lat, 9)) == (1.0, 1.0)
    cities, rejected = parse_gisco_cities(_fixture())
    assert [c.city_code for c in cities] == ["AT001C", "DE004C", "SE003C", "DE555C", "FR205C"]
    assert [r[1] for r in rejected] == ["not an Urban Audit city code: 'XX1C'"]
    vienna = cities[0]
    assert (vienna.is_capital, vienna.nuts3_code, vienna.fua_code) == (True, "AT130", "AT001F")
    malmo = cities[2]
    assert (round(malmo.lon, 6), round(malmo.lat, 6)) == (13.0, 55.6)
    with pytest.raises(ValueError, match="WGS84"):
        parse_gisco_cities(
            json.dumps({"type": "FeatureCollection", "crs": {"name": "EPSG:3035"}}).encode()
        )


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.mark.slow
def test_gisco_cities_reach_dim_cities(warehouse_url: str, server: ReplayServer) -> None:
    cfg = local_config(server.url).model_dump()
    cfg["cities"] = {"source": "gisco", "gisco": {"base_url": server.url + "/urau", "year": 2021}}
    cfg = type(local_config(server.url)).model_validate(cfg)
    server.route(
        "GET",
        "/urau/geojson/URAU_LB_2021_4326_CITIES.geojson",
        Answer(_fixture(), content_type="application/geo+json"),
    )
    # Offline default: nothing from GISCO is asked for.
    assert load_reference_cities(warehouse_url, local_config(server.url)) == {
        "source": "seed",
        "fetched": False,
    }
    assert not server.requests
    seed_codes = requested_city_codes(warehouse_url, local_config(server.url))
    assert "DE555C" not in seed_codes

    # What the ingest_statistics DAG's load_cities task runs, with cities.source = gisco.
    report = load_reference_cities(
        warehouse_url, cfg, http=statistics_client(retries=0, sleep=lambda _: None)
    )
    assert report["source"] == "gisco" and report["fetched"]
    # the feature without an Urban Audit code is quarantined with its reason, not lost
    assert _rows(warehouse_url, "SELECT source, reason FROM raw.rejected_records") == [
        ("gisco:urau_cities", "not an Urban Audit city code: 'XX1C'")
    ]
    assert report["added"] == ["DE555C", "FR205C"]
    assert report["rejected"] == 1
    assert "SE003C" not in report["not_in_gisco"] and "NL037C" in report["not_in_gisco"]
    # The fixture's NUTS 3 codes and names are the seed's: no disagreement reported.
    assert report["nuts3_differs"] == {} and report["name_differs"] == {}
    assert report["far_coordinates"] == {}
    assert server.requests[-1].path == "/urau/geojson/URAU_LB_2021_4326_CITIES.geojson"

    # With cities.source = gisco, Eurostat is asked for the added cities too.
    codes = requested_city_codes(warehouse_url, cfg)
    assert codes[: len(seed_codes)] == seed_codes and codes[len(seed_codes) :] == [
        "DE555C",
        "FR205C",
    ]

    run_dbt(
        warehouse_url,
        [
            "build",
            "--select",
            "+dim_cities",
            "+dim_city_aliases",
            "dim_countries",
            "--indirect-selection",
            "cautious",
        ],
    )
    added = _rows(
        warehouse_url,
        "SELECT city_code, city_name, native_name, country_code, nuts2_code, nuts3_code, "
        "round(lat::numeric, 4)::float, population, reference_source FROM marts.dim_cities "
        "WHERE reference_source <> 'seed' ORDER BY city_code",
    )
    assert added == [
        ("AT001C", "Vienna", "Wien", "AT", "AT13", "AT130", 48.2084, 1658062, "seed+gisco"),
        ("DE004C", "Cologne", "Köln", "DE", "DEA2", "DEA23", 50.9384, 1015681, "seed+gisco"),
        ("DE555C", "Waldkirch", "Waldkirch", "DE", "DE13", "DE131",
         47.9990, None, "gisco"),
        ("SE003C", "Malmö", "Malmö", "SE", "SE22", "SE224", 55.6053, 284635, "seed+gisco"),
    ]  # fmt: skip
    total = _rows(warehouse_url, "SELECT count(*) FROM marts.dim_cities")[0][0]
    assert total == len(read_seed()) + 1
    # The added city is found by its name; the seed's aliases are untouched.
    assert _rows(
        warehouse_url,
        "SELECT alias_type FROM marts.dim_city_aliases WHERE city_code = 'DE555C' ORDER BY 1",
    ) == [("english",), ("native",)]


def test_gisco_format_of_the_shared_gazetteer_reconciles_with_the_seed(reference_dir: Path) -> None:
    """The 854 Urban Audit cities of the shared gazetteer, written as GISCO writes them, against
    the seed: every seed city is found, with its country, native name and coordinates."""
    path = reference_dir / GAZETTEER
    if not path.is_file():
        pytest.skip(f"{path} not present (see docs/test-data.md)")
    with path.open(encoding="utf-8", newline="") as f:
        ref = list(csv.DictReader(f))
    body = _geojson(
        [
            _feature(r["URAU_CODE"], r["URAU_NAME"].strip(), "", float(r["lon"]), float(r["lat"]))
            for r in ref
        ]
    )
    cities, rejected = parse_gisco_cities(body)
    assert not rejected and len(cities) == len(ref) == 854
    rec = reconcile(cities, read_seed())
    assert rec.not_in_gisco == []
    assert rec.country_differs == {} and rec.name_differs == {} and rec.far_coordinates == {}
    assert len(rec.added) == 854 - rec.seed_cities
