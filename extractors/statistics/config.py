"""``config/statistics.yml``: which datasets, tables and files the statistics connectors read.

Datasets are data, not code: an analyst adds a Eurostat dataset or a PxWeb table by adding an
entry. The file is validated on load, and an error names the entry and field to fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.settings import REPO_ROOT, load_settings

CONFIG_PATH = REPO_ROOT / "config" / "statistics.yml"
CONFIG_ENV = "MONITOR_STATISTICS_CONFIG"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """config/statistics.yml is missing or invalid; the message says where and what."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingRules(_Strict):
    """How published codes become indicator ids and units (shared by Eurostat and PxWeb)."""

    geo_dimension: str = "geo"
    time_dimension: str | None = None
    unit_dimension: str | None = "unit"
    # indicator code (codes of the non-geo, non-time, non-freq dimensions, '.'-joined) -> id
    aliases: dict[str, str] = Field(default_factory=dict)
    # unit per indicator code when the dataset has no unit dimension
    units: dict[str, str] = Field(default_factory=dict)
    # Urban Audit convention: codes ending in V are values (counts), in I derived indicators.
    unit_by_code_suffix: dict[str, str] = Field(default_factory=dict)
    default_unit: str | None = None

    @field_validator("aliases")
    @classmethod
    def _alias_ids(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [a for a in v.values() if not _ID.match(a)]
        if bad:
            raise ValueError(f"aliases must be lower_snake_case ids, not {bad}")
        # Two codes with one alias would make two series one indicator.
        shared = sorted({a for a in v.values() if list(v.values()).count(a) > 1})
        if shared:
            raise ValueError(f"alias(es) {shared} given to several codes")
        return v


class EurostatDataset(MappingRules):
    id: str
    title: str
    format: Literal["jsonstat", "sdmx-csv-1.0", "sdmx-csv-2.0"] = "jsonstat"
    # Which geographies to ask for: the cities of dbt/seeds/cities.csv, the countries of
    # dbt/seeds/countries.csv in `country_groups`, or every geography the dataset has.
    geo_scope: Literal["cities", "countries", "all"] = "countries"
    country_groups: tuple[str, ...] = ("eu27", "efta", "uk")
    filters: dict[str, list[str]] = Field(default_factory=dict)
    key: str | None = None  # SDMX 2.1 series key (sdmx-csv-1.0 only), e.g. "A.THS_PER.T..FOR."
    since: str | None = None
    params: dict[str, str] = Field(default_factory=dict)  # extra query parameters
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _dataset_id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"dataset id {v!r} must be a lower-case Eurostat code like urb_cpop1")
        return v

    @field_validator("filters", mode="before")
    @classmethod
    def _filter_lists(cls, v: Any) -> Any:
        # `unit: PER` and `unit: [PER]` both mean one code.
        if isinstance(v, dict):
            return {
                k: [str(x) for x in (val if isinstance(val, list) else [val])]
                for k, val in v.items()
            }
        return v


class EurostatSection(_Strict):
    base_url: str = "https://ec.europa.eu/eurostat/api/dissemination"
    lang: str = "EN"
    since: str = "2010"
    timeout_seconds: float = 120
    retries: int = 4
    async_poll_seconds: float = 15
    async_max_wait_seconds: float = 1800
    datasets: list[EurostatDataset] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> EurostatSection:
        ids = [d.id for d in self.datasets]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"dataset ids listed twice: {dupes}")
        return self


class PxwebTable(MappingRules):
    id: str
    title: str
    provider_name: str
    url: str
    query: list[dict[str, Any]]
    geo_map: dict[str, str] = Field(default_factory=dict)  # published region code -> UA code
    unit_dimension: str | None = None
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _table_id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"table id {v!r} must be lower_snake_case")
        return v

    @field_validator("query")
    @classmethod
    def _query(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, q in enumerate(v):
            if "code" not in q or "selection" not in q:
                raise ValueError(f"query[{i}] needs 'code' and 'selection' (PxWeb API v1 query)")
        return v


class PxwebSection(_Strict):
    timeout_seconds: float = 60
    retries: int = 4
    tables: list[PxwebTable] = Field(default_factory=list)


class MipexFile(_Strict):
    id: str
    filename: str
    title: str = ""
    delimiter: str = ","
    country_column: str
    edition: int | None = None
    edition_column: str | None = None
    strands: dict[str, str]  # column -> strand id (overall, labour_market_mobility, ...)

    @model_validator(mode="after")
    def _edition(self) -> MipexFile:
        if (self.edition is None) == (self.edition_column is None):
            raise ValueError(f"{self.id}: give exactly one of edition or edition_column")
        return self


class MipexSection(_Strict):
    directory: str = "imports/mipex"  # relative to MONITOR_HOME unless absolute
    files: list[MipexFile] = Field(default_factory=list)


class GiscoSection(_Strict):
    """Where GISCO distributes the Urban Audit cities (GeoJSON, one feature per city)."""

    base_url: str = "https://gisco-services.ec.europa.eu/distribution/v2/urau"
    year: int = 2021  # the Urban Audit release
    # LB = label points (Point geometry); RG_100K = boundaries (the centroid is used).
    file: str = "geojson/URAU_LB_{year}_4326_CITIES.geojson"
    timeout_seconds: float = 120
    retries: int = 4

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.file.format(year=self.year)}"


class CitiesSection(_Strict):
    """Which cities the platform knows: the project's seed only (offline, the default), or the
    seed plus every Urban Audit city GISCO lists (``load_gisco_cities`` when online)."""

    source: Literal["seed", "gisco"] = "seed"
    gisco: GiscoSection = Field(default_factory=GiscoSection)


class StatisticsConfig(_Strict):
    eurostat: EurostatSection = Field(default_factory=EurostatSection)
    pxweb: PxwebSection = Field(default_factory=PxwebSection)
    mipex: MipexSection = Field(default_factory=MipexSection)
    cities: CitiesSection = Field(default_factory=CitiesSection)

    def eurostat_dataset(self, dataset_id: str) -> EurostatDataset:
        for d in self.eurostat.datasets:
            if d.id == dataset_id:
                return d
        raise ConfigError(
            f"no Eurostat dataset {dataset_id!r} in config/statistics.yml; configured: "
            f"{', '.join(d.id for d in self.eurostat.datasets)}"
        )

    def pxweb_table(self, table_id: str) -> PxwebTable:
        for t in self.pxweb.tables:
            if t.id == table_id:
                return t
        raise ConfigError(
            f"no PxWeb table {table_id!r} in config/statistics.yml; configured: "
            f"{', '.join(t.id for t in self.pxweb.tables)}"
        )


def load_config(path: str | os.PathLike[str] | None = None) -> StatisticsConfig:
    """Read and validate the statistics configuration (``$MONITOR_STATISTICS_CONFIG`` or
    ``config/statistics.yml``)."""
    p = Path(path or load_settings().statistics_config or CONFIG_PATH)
    if not p.is_file():
        raise ConfigError(f"statistics configuration {p} not found (set {CONFIG_ENV} or create it)")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    try:
        return StatisticsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{p}: {problems}") from None
