"""Urban Audit cities from Eurostat's GISCO, for when the platform is online.

GISCO distributes the Urban Audit geometries at
``https://gisco-services.ec.europa.eu/distribution/v2/urau/geojson/`` as
``URAU_LB_<year>_4326_CITIES.geojson`` (label points) and ``URAU_RG_100K_<year>_4326_CITIES
.geojson`` (boundaries): a GeoJSON FeatureCollection in WGS84 with one feature per city and the
properties ``URAU_CODE`` (DE001C), ``URAU_CATG`` (C = city), ``CNTR_CODE`` (Eurostat: EL, UK),
``URAU_NAME`` (the native name), ``CITY_CPTL`` (Y for a capital), ``FUA_CODE``, ``AREA_SQM``,
``NUTS3_2021`` and ``FID``.

The project's seed (``dbt/seeds/cities.csv``) stays the source of names, exonyms and tags; GISCO
adds the cities the seed lacks, with their code, country, NUTS 3 region and coordinates (the
point, or the centroid of the boundary). :func:`load_gisco_cities` replaces
``raw.gisco_cities`` with one release and reports where GISCO and the seed disagree (NUTS
codes, names, coordinates); dbt's ``int_cities__reconciled`` puts the two together for
``dim_cities``. Offline (the default, ``cities.source: seed``) nothing here runs.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import reference
from core.db import Role, connection
from core.http import HttpClient
from core.runs import new_run_id
from extractors.statistics.client import statistics_client
from extractors.statistics.config import GiscoSection, StatisticsConfig, load_config
from extractors.statistics.reference import URBAN_AUDIT_CODE, normalise_name
from extractors.statistics.store import store_rejections

log = logging.getLogger(__name__)

# A seed city further than this from GISCO's point is reported: the seed's coordinates are the
# gazetteer's city centre; GISCO's label point sits inside the city, a few km away at most.
FAR_KM = 15.0
NON_CITY_CODE = re.compile(r"^[A-Z]{2}\d{3}[KF]")  # greater city, functional urban area


@dataclass(frozen=True)
class GiscoCity:
    city_code: str
    city_name: str
    country_code: str
    nuts3_code: str | None
    is_capital: bool | None
    fua_code: str | None
    area_sqm: float | None
    lat: float | None
    lon: float | None


@dataclass
class Reconciliation:
    """How GISCO's list compares with the seed: what it adds, and where the two disagree."""

    gisco_cities: int = 0
    seed_cities: int = 0
    added: list[str] = field(default_factory=list)  # in GISCO, not in the seed
    not_in_gisco: list[str] = field(default_factory=list)  # in the seed, not in GISCO
    nuts3_differs: dict[str, tuple[str, str]] = field(default_factory=dict)  # seed, GISCO
    country_differs: dict[str, tuple[str, str]] = field(default_factory=dict)
    name_differs: dict[str, tuple[str, str]] = field(default_factory=dict)
    far_coordinates: dict[str, float] = field(default_factory=dict)  # km

    def summary(self) -> dict:
        return asdict(self)


def _ring_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    """(signed area, x, y) of a closed ring by the shoelace formula."""
    a = cx = cy = 0.0
    for (x0, y0, *_), (x1, y1, *_) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    a /= 2.0
    if a == 0:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return a, cx / (6 * a), cy / (6 * a)


def geometry_point(geometry: dict | None) -> tuple[float, float] | None:
    """(lon, lat) of a feature: the point itself, or the area-weighted centroid of the outer
    rings of a (multi)polygon. Planar on degrees: good enough for a city a few km across."""
    if not geometry:
        return None
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point" and coords:
        return float(coords[0]), float(coords[1])
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not polygons:
        return None
    total = sx = sy = 0.0
    for polygon in polygons:
        a, x, y = _ring_centroid(polygon[0])
        total += abs(a)
        sx += abs(a) * x
        sy += abs(a) * y
    if total == 0:
        return None
    return sx / total, sy / total


def parse_gisco_cities(body: bytes) -> tuple[list[GiscoCity], list[tuple[str, str, str]]]:
    """Cities of a GISCO Urban Audit GeoJSON; ``(position, reason, record)`` for features that
    cannot be used. Greater cities (K) and functional urban areas (F) are skipped: the platform's
    unit is the city."""
    doc = json.loads(body)
    if doc.get("type") != "FeatureCollection":
        raise ValueError(f"not a GeoJSON FeatureCollection (type {doc.get('type')!r})")
    crs = json.dumps(doc.get("crs") or {})
    if any(code in crs for code in ("3035", "3857")):
        raise ValueError(f"GISCO file is not in WGS84 (EPSG:4326): crs {crs}; use a _4326_ file")
    cities: list[GiscoCity] = []
    rejected: list[tuple[str, str, str]] = []
    for i, feature in enumerate(doc.get("features") or []):
        props = feature.get("properties") or {}
        code = str(props.get("URAU_CODE") or "").strip()
        category = props.get("URAU_CATG")
        if category not in (None, "C") or NON_CITY_CODE.match(code):
            continue
        record = json.dumps(props, ensure_ascii=False, sort_keys=True)
        if not URBAN_AUDIT_CODE.match(code):
            rejected.append((f"feature {i}", f"not an Urban Audit city code: {code!r}", record))
            continue
        name = str(props.get("URAU_NAME") or "").strip()
        country = str(props.get("CNTR_CODE") or "").strip()
        if not name or country != code[:2]:
            rejected.append(
                (f"feature {i}", f"{code}: no name, or country {country!r} != code", record)
            )
            continue
        point = geometry_point(feature.get("geometry"))
        area = props.get("AREA_SQM")
        capital = props.get("CITY_CPTL")
        cities.append(
            GiscoCity(
                city_code=code,
                city_name=name,
                country_code=country,
                nuts3_code=(str(props.get("NUTS3_2021") or "").strip() or None),
                is_capital=None if capital is None else str(capital).strip().upper() == "Y",
                fua_code=(str(props.get("FUA_CODE") or "").strip() or None),
                area_sqm=float(area) if area not in (None, "") else None,
                lon=point[0] if point else None,
                lat=point[1] if point else None,
            )
        )
    return cities, rejected


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def read_seed(seeds_dir: Path | None = None) -> list[dict[str, str]]:
    with reference.seed_file("cities.csv", seeds_dir).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def reconcile(cities: list[GiscoCity], seed: list[dict[str, str]]) -> Reconciliation:
    """Compare GISCO's cities with the seed. The seed is never changed: differences are
    reported for an analyst to check (GISCO's NUTS3_2021 is authoritative for NUTS codes)."""
    by_code = {c.city_code: c for c in cities}
    seed_codes = {r["city_code"] for r in seed}
    rec = Reconciliation(gisco_cities=len(cities), seed_cities=len(seed))
    rec.added = sorted(set(by_code) - seed_codes)
    rec.not_in_gisco = sorted(seed_codes - set(by_code))
    for r in seed:
        g = by_code.get(r["city_code"])
        if g is None:
            continue
        code = g.city_code
        if g.nuts3_code and r.get("nuts3_code") and r["nuts3_code"] != g.nuts3_code:
            rec.nuts3_differs[code] = (r["nuts3_code"], g.nuts3_code)
        if r["country_code"] != g.country_code:
            rec.country_differs[code] = (r["country_code"], g.country_code)
        # Bilingual cities: GISCO writes both names ("Bruxelles/Brussel"), as the seed does.
        seed_names = {normalise_name(n) for n in [*r["native_name"].split("/"), r["city_name"]]}
        if not {normalise_name(n) for n in g.city_name.split("/")} <= seed_names:
            rec.name_differs[code] = (r["native_name"], g.city_name)
        if g.lat is not None and g.lon is not None:
            km = _km(float(r["lat"]), float(r["lon"]), g.lat, g.lon)
            if km > FAR_KM:
                rec.far_coordinates[code] = round(km, 1)
    return rec


def fetch_gisco_cities(section: GiscoSection, http: HttpClient | None = None) -> bytes:
    client = http or statistics_client(timeout_s=section.timeout_seconds, retries=section.retries)
    log.info("GISCO: GET %s", section.url)
    return client.request("GET", section.url).content


def store_gisco_cities(
    url: str,
    cities: list[GiscoCity],
    rejected: list[tuple[str, str, str]],
    *,
    section: GiscoSection,
) -> str:
    """Replace ``raw.gisco_cities`` with this release, in one transaction."""
    run_id = new_run_id("gisco", f"urau_{section.year}")
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, records_read) "
            "VALUES (%s, %s, %s, %s)",
            (run_id, "gisco:urau_cities", section.url, len(cities) + len(rejected)),
        )
        cur.execute("DELETE FROM raw.gisco_cities")
        cur.executemany(
            "INSERT INTO raw.gisco_cities (city_code, city_name, country_code, nuts3_code, "
            "is_capital, fua_code, area_sqm, lat, lon, release_year, source_url, run_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    c.city_code,
                    c.city_name,
                    c.country_code,
                    c.nuts3_code,
                    c.is_capital,
                    c.fua_code,
                    c.area_sqm,
                    c.lat,
                    c.lon,
                    section.year,
                    section.url,
                    run_id,
                )
                for c in cities
            ],
        )
        store_rejections(cur, run_id, "gisco:urau_cities", rejected)
        cur.execute(
            "UPDATE raw.import_runs SET status = 'succeeded', finished_at = now(), inserted = %s, "
            "rejected = %s WHERE run_id = %s",
            (len(cities), len(rejected), run_id),
        )
    return run_id


def load_gisco_cities(
    url: str,
    *,
    config: StatisticsConfig | None = None,
    http: HttpClient | None = None,
    seeds_dir: Path | None = None,
) -> dict:
    """Fetch GISCO's Urban Audit cities, land them in ``raw.gisco_cities`` and report how they
    compare with the seed."""
    section = (config or load_config()).cities.gisco
    cities, rejected = parse_gisco_cities(fetch_gisco_cities(section, http))
    if not cities:
        raise ValueError(f"GISCO: no city in {section.url}; raw.gisco_cities left as it was")
    rec = reconcile(cities, read_seed(seeds_dir))
    run_id = store_gisco_cities(url, cities, rejected, section=section)
    log.info(
        "GISCO: %d cities (%d not in the seed); seed cities GISCO lacks: %s; NUTS 3 differs "
        "for %d, names for %d, coordinates > %.0f km for %d",
        len(cities),
        len(rec.added),
        ", ".join(rec.not_in_gisco) or "none",
        len(rec.nuts3_differs),
        len(rec.name_differs),
        FAR_KM,
        len(rec.far_coordinates),
    )
    return {**rec.summary(), "rejected": len(rejected), "run_id": run_id, "url": section.url}


def gisco_city_codes(url: str) -> list[str]:
    """Codes of the cities landed from GISCO (empty until :func:`load_gisco_cities` ran)."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute("SELECT city_code FROM raw.gisco_cities ORDER BY city_code")
        return [r[0] for r in cur.fetchall()]
