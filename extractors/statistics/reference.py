"""Reference data the statistics join on: countries and cities, read from the dbt seeds.

The seeds (``dbt/seeds/countries.csv``, ``dbt/seeds/cities.csv``) are the single source of truth
for names and codes, for dbt and for the extractors alike. Country codes follow Eurostat (``EL``
for Greece, ``UK`` for the United Kingdom); ISO codes (``GR``, ``GB``, ``GRC``), English, native
and other-language names and historical spellings ("Czech Republic", "Kosovo*") all reconcile to
them. Names are compared without case, accents and punctuation.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core import reference

URBAN_AUDIT_CODE = re.compile(r"^[A-Z]{2}\d{3}[A-Z]\d?$")  # city DE001C, greater city DE001K...

# Eurostat aggregates are not countries: they are recognised (so that they are not reported as
# unknown) but kept out of country facts. Labels as Eurostat publishes them.
AGGREGATE_LABELS: dict[str, str] = {
    "european union - 27 countries (from 2020)": "EU27_2020",
    "european union - 28 countries (2013-2020)": "EU28",
    "european union - 27 countries (2007-2013)": "EU27_2007",
    "european union (eu6-1958, eu9-1973, eu10-1981, eu12-1986, eu15-1995, eu25-2004, "
    "eu27-2007, eu28-2013, eu27-2020)": "EU_V",
    "euro area - 20 countries (from 2023)": "EA20",
    "euro area - 19 countries (2015-2022)": "EA19",
    "euro area - 18 countries (2014)": "EA18",
    "euro area (ea11-1999, ea12-2001, ea13-2007, ea15-2008, ea16-2009, ea17-2011, ea18-2014, "
    "ea19-2015, ea20-2023)": "EA",
    "european free trade association": "EFTA",
}
AGGREGATE_CODE = re.compile(r"^(EU\d*(_\d{4})?|EU_V|EA\d*|EFTA|EEA\d*|EU27_2020_\w+)$")


def normalise_name(name: str) -> str:
    """Casefolded, accent-free, punctuation-free: "Türkiye" and "turkiye" compare equal."""
    text = unicodedata.normalize("NFKD", name.replace("–", "-").replace("—", "-"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[*'’`´]", "", text)
    text = re.sub(r"[^\w]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _aggregate_key(label: str) -> str:
    return re.sub(r"\s+", " ", label.replace("–", "-").casefold()).strip()


@dataclass(frozen=True)
class Country:
    code: str  # Eurostat
    iso2: str
    iso3: str
    name: str
    group: str  # eu27, efta, uk, candidate, other


def _read(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"reference seed {path} is missing; it ships with the repository")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


class CountryResolver:
    """Country codes and names -> Eurostat country code."""

    def __init__(self, seeds_dir: Path | None = None) -> None:
        seeds_dir = seeds_dir or reference.seeds_dir()
        self.countries: dict[str, Country] = {}
        self._by_key: dict[str, str] = {}
        for r in _read(seeds_dir / "countries.csv"):
            c = Country(r["country_code"], r["iso2"], r["iso3"], r["name_en"], r["country_group"])
            self.countries[c.code] = c
            for code in (c.code, c.iso2, c.iso3):
                self._by_key[code.upper()] = c.code
            names = [r["name_en"], *r["native_name"].split("/"), *r["aliases"].split("|")]
            for n in names:
                if n.strip():
                    self._by_key.setdefault("name:" + normalise_name(n), c.code)

    def resolve(self, text: str) -> str | None:
        """The Eurostat code of a country given by code (EL, GR, GRC) or name; None if unknown."""
        t = text.strip()
        if not t:
            return None
        if t.isascii() and t.isalpha() and len(t) in (2, 3) and t.upper() == t:
            return self._by_key.get(t)
        return self._by_key.get("name:" + normalise_name(t))

    def codes(self, groups: tuple[str, ...]) -> list[str]:
        return sorted(c.code for c in self.countries.values() if c.group in groups)


class GeoResolver:
    """The geo code of a statistics cell: a country, an Urban Audit city or an aggregate.

    Accepts codes (as published by the API) and labels (SDMX-CSV downloaded "with labels").
    """

    def __init__(self, seeds_dir: Path | None = None) -> None:
        seeds_dir = seeds_dir or reference.seeds_dir()
        self.countries = CountryResolver(seeds_dir)
        self.city_codes: list[str] = []
        self._city_names: dict[str, str] = {}
        for r in _read(seeds_dir / "cities.csv"):
            self.city_codes.append(r["city_code"])
            for n in [r["city_name"], *r["native_name"].split("/"), *r["other_names"].split("|")]:
                if n.strip():
                    self._city_names.setdefault(normalise_name(n), r["city_code"])

    def resolve(self, code: str, label: str | None = None) -> str | None:
        code = code.strip()
        if URBAN_AUDIT_CODE.match(code) or AGGREGATE_CODE.match(code):
            return code
        country = self.countries.resolve(code)
        if country:
            return country
        for text in (code, label):
            if not text:
                continue
            agg = AGGREGATE_LABELS.get(_aggregate_key(text))
            if agg:
                return agg
            found = self.countries.resolve(text) or self._city_names.get(normalise_name(text))
            if found:
                return found
        return None


@lru_cache(maxsize=4)
def geo_resolver(seeds_dir: Path | None = None) -> GeoResolver:
    return GeoResolver(seeds_dir)
