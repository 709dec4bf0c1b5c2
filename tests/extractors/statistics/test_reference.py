"""Reference data: the project's city seed against Eurostat's Urban Audit gazetteer
(../shared/data/reference), its coverage and tags, the countries seed, and the taxonomy."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from extractors.statistics.reference import normalise_name

SEEDS = REPO_ROOT / "dbt" / "seeds"
GAZETTEER = "urban_audit_cities_854_codes_coords.csv"
# The gazetteer's English label is wrong or oddly cased for a few cities; the seed keeps the
# English name and the test says why it differs.
LABEL_EXCEPTIONS = {
    "IT011C": ("Venise", "Venice"),  # French exonym in the reference's LABEL
    # "Frankfurt" alone is Frankfurt am Main in posts: the Oder city keeps its qualifier
    "DE027C": ("Frankfurt", "Frankfurt (Oder)"),
    "DE126C": ("Stadt Düren", "Düren"),  # the municipality's legal form, not a name
    "DE127C": ("Stadt Bocholt", "Bocholt"),
    "ES069C": ("Castell<F3> De La Plana", "Castellón de la Plana"),  # a byte escaped in the label
    "HU007C": ("Gyõr", "Győr"),  # õ (tilde) for ő (double acute)
}
EU27 = set(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
TAXONOMY_LANGUAGES = {"en", "de", "nl", "sv", "fr", "es", "it", "el"}


def _csv(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cities() -> list[dict[str, str]]:
    return _csv("cities.csv")


def test_city_seed_agrees_with_the_urban_audit_gazetteer(
    cities: list[dict[str, str]], reference_dir: Path
) -> None:
    path = reference_dir / GAZETTEER
    if not path.is_file():
        pytest.skip(f"{path} not present (see docs/test-data.md)")
    with path.open(encoding="utf-8", newline="") as f:
        ref = {r["URAU_CODE"]: r for r in csv.DictReader(f)}
    for city in cities:
        code = city["city_code"]
        assert code in ref, f"{code} ({city['city_name']}) is not an Urban Audit city code"
        r = ref[code]
        assert city["country_code"] == r["CNTR_CODE"], code
        assert city["native_name"] == r["URAU_NAME"].strip(), code
        label = r["LABEL"].strip()
        if code in LABEL_EXCEPTIONS:
            assert (label, city["city_name"]) == LABEL_EXCEPTIONS[code]
        else:
            # The gazetteer title-cases some labels ("Frankfurt Am Main"): compare caselessly.
            assert city["city_name"].casefold() == label.casefold(), (code, label)
        assert abs(float(city["lat"]) - float(r["lat"])) < 1e-3, code
        assert abs(float(city["lon"]) - float(r["lon"])) < 1e-3, code
        assert int(city["population"]) == round(float(r["pop"])), code


def test_city_seed_covers_the_eu_and_contains_the_demo_cities(cities: list[dict[str, str]]) -> None:
    codes = [c["city_code"] for c in cities]
    assert len(codes) == len(set(codes))
    eu = [c for c in cities if c["country_code"] in EU27]
    assert len(eu) >= 100
    assert {c["country_code"] for c in eu} == EU27  # every member state
    by_code = {c["city_code"]: c for c in cities}
    for demo in _csv("demo_cities.csv"):
        city = by_code.get(demo["city_code"])
        assert city is not None, f"demo city {demo['city_code']} missing from cities.csv"
        assert (city["city_name"], city["native_name"], city["country_code"]) == (
            demo["city_name"],
            demo["native_name"],
            demo["country_code"],
        )


def test_city_names_tags_and_nuts_codes_are_well_formed(cities: list[dict[str, str]]) -> None:
    countries = {c["country_code"] for c in _csv("countries.csv")}
    tag_owner: dict[str, str] = {}
    for c in cities:
        code = c["city_code"]
        assert re.fullmatch(r"[A-Z]{2}\d{3}C", code) and code[:2] == c["country_code"]
        assert c["country_code"] in countries
        assert c["languages"] and all(
            re.fullmatch(r"[a-z]{2}", x) for x in c["languages"].split("|")
        )
        # NUTS 2021: country prefix as Eurostat writes it (EL, UK), level 3 inside level 2.
        if c["nuts3_code"]:
            assert re.fullmatch(r"[A-Z]{2}[0-9A-Z]{3}", c["nuts3_code"]), code
            assert c["nuts3_code"].startswith(c["nuts2_code"]) and len(c["nuts2_code"]) == 4
            assert c["nuts2_code"].startswith(c["country_code"]), code
        else:
            # Greater London spans several NUTS regions; the other cities without NUTS codes
            # get them from GISCO (int_cities__reconciled)
            assert not c["nuts2_code"], code
        tags = c["hashtags"].split("|")
        assert tags and all(t.startswith("#") and t == t.lower() and " " not in t for t in tags), (
            code
        )
        for t in tags:
            assert tag_owner.setdefault(t, code) == code, f"{t} used by {tag_owner[t]} and {code}"
        others = [o for o in c["other_names"].split("|") if o]
        assert c["city_name"] not in others and len(others) == len(set(others)), code
    by_code = {c["city_code"]: c for c in cities}
    assert "#malmö" in by_code["SE003C"]["hashtags"].split("|")
    assert "R'dam" in by_code["NL037C"]["slang_tags"].split("|")
    assert "Κολωνία" in by_code["DE004C"]["other_names"].split("|")
    # Enough cities carry exonyms, demonyms and slang to be useful for place detection: every
    # capital has other names, every city of 250,000 inhabitants or more its demonyms.
    assert sum(bool(c["other_names"]) for c in cities) >= 0.4 * len(cities)
    capitals = {code for code in by_code if code.endswith("001C")}  # XX001C: the capital
    assert all(by_code[code]["other_names"] for code in capitals)
    # (North Lanarkshire and Sandwell are districts named after no town: no demonym exists)
    large = [c for c in cities if int(c["population"] or 0) >= 250_000]
    assert all(c["demonyms"] for c in large if c["city_code"] not in {"UK055C", "UK062C"})
    assert sum(bool(c["slang_tags"]) for c in cities) >= 40


def test_countries_seed_uses_eurostat_codes() -> None:
    rows = _csv("countries.csv")
    by_code = {r["country_code"]: r for r in rows}
    assert len(by_code) == len(rows)
    assert by_code["EL"]["iso2"] == "GR" and by_code["UK"]["iso2"] == "GB"
    assert "GR" not in by_code and "GB" not in by_code
    assert {r["country_code"] for r in rows if r["country_group"] == "eu27"} == EU27
    assert all(
        r["eu_member"] == ("true" if r["country_group"] == "eu27" else "false") for r in rows
    )
    for column in ("iso2", "iso3"):
        assert len({r[column] for r in rows}) == len(rows), column
    # No name or alias may point at two countries.
    owners: dict[str, str] = {}
    for r in rows:
        names = [r["name_en"], *r["native_name"].split("/"), *r["aliases"].split("|")]
        for n in filter(None, (normalise_name(x) for x in names)):
            assert owners.setdefault(n, r["country_code"]) == r["country_code"], n


def test_taxonomy_has_19_areas_described_in_8_languages() -> None:
    areas = _csv("integration_areas.csv")
    assert len(areas) == 19
    assert Counter(a["dimension"] for a in areas) == {
        "socio_economic": 5,
        "socio_cultural": 4,
        "legal_political": 8,
        "spatial": 2,
    }
    assert all(len(a["description"]) > 40 for a in areas)
    langs: dict[str, set[str]] = {}
    for k in _csv("area_keywords.csv"):
        langs.setdefault(k["area_id"], set()).add(k["lang"])
    for a in areas:
        assert langs.get(a["area_id"], set()) >= TAXONOMY_LANGUAGES, a["area_id"]


def test_city_seed_nuts_codes_agree_with_the_reference_files(
    cities: list[dict[str, str]], reference_dir: Path
) -> None:
    """Where a shared reference file gives a city's NUTS 3 region, the seed must agree. The
    files are searched for a NUTS column (NUTS3_2021, NUTS3_2016, nuts3...)."""
    by_code = {c["city_code"]: c for c in cities}
    checked = 0
    looked_at = []
    for path in sorted(reference_dir.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            columns = [c for c in reader.fieldnames or [] if re.fullmatch(r"(?i)nuts_?3.*", c)]
            looked_at.append(path.name)
            if not columns or "URAU_CODE" not in (reader.fieldnames or []):
                continue
            for row in reader:
                city = by_code.get(row["URAU_CODE"])
                value = (row[columns[0]] or "").strip()
                if city and value and value != "NA":
                    assert city["nuts3_code"] == value, (row["URAU_CODE"], value)
                    checked += 1
    if not checked:
        pytest.skip(
            f"no shared reference file gives NUTS codes by Urban Audit city ({', '.join(looked_at)}"
            "); the seed's NUTS codes are checked for consistency above and against GISCO's "
            "NUTS3_2021 when load_gisco_cities runs"
        )
