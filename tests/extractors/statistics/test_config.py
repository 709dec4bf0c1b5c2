"""config/statistics.yml: the datasets the issue asks for are configured, requests are built as
the APIs expect, and a broken entry is reported with where and what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from extractors.statistics.client import statistics_client
from extractors.statistics.config import CONFIG_PATH, ConfigError, load_config
from extractors.statistics.eurostat import EurostatClient
from extractors.statistics.reference import geo_resolver

REQUIRED = {
    "urb_cpop1",
    "urb_cpopcb",
    "urb_clma",
    "urb_ceduc",
    "urb_clivcon",
    "migr_resfirst",
    "migr_pop1ctz",
    "migr_asyappctza",
    "lfsa_ugan",
    "lfsa_egan",
}


def test_required_datasets_are_configured(project_config) -> None:
    datasets = {d.id: d for d in project_config.eurostat.datasets}
    assert set(datasets) >= REQUIRED
    for d in datasets.values():
        if d.id.startswith("urb_"):
            # Urban Audit tables: geography is the `cities` dimension, asked for by city code.
            assert (d.geo_dimension, d.geo_scope, d.unit_dimension) == ("cities", "cities", None)
        else:
            assert d.geo_scope in ("countries", "all")
    assert datasets["migr_resfirst"].filters["reason"] == ["TOTAL", "OCC", "FAM", "EDUC", "OTH"]
    assert {d.format for d in datasets.values()} == {"jsonstat", "sdmx-csv-1.0", "sdmx-csv-2.0"}
    assert datasets["urb_cpop1"].aliases == {"DE1001V": "population"}


def test_requests_are_built_per_format(project_config) -> None:
    client = EurostatClient(project_config.eurostat, http=statistics_client(retries=0))
    countries = geo_resolver().countries.codes(("eu27", "efta", "uk"))
    assert "EL" in countries and "UK" in countries and len(countries) == 32

    url, params = client.request_for(project_config.eurostat_dataset("migr_pop1ctz"), countries)
    assert url == "https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/migr_pop1ctz"
    assert ("citizen", "FOR") in params and ("geo", "EL") in params and ("format", "JSON") in params

    url, params = client.request_for(project_config.eurostat_dataset("migr_resfirst"), countries)
    assert url.endswith("/sdmx/3.0/data/dataflow/ESTAT/migr_resfirst/1.0/*")
    assert ("c[reason]", "TOTAL,OCC,FAM,EDUC,OTH") in params
    assert ("formatVersion", "2.0") in params and ("labels", "both") in params

    url, params = client.request_for(project_config.eurostat_dataset("lfsa_ugan"), None)
    assert url.endswith(
        "/sdmx/2.1/data/lfsa_ugan/A.THS_PER.T.Y15-74.TOTAL+NAT+FOR+EU27_2020_FOR+NEU27_2020_FOR."
    )
    assert ("format", "SDMX-CSV") in params and ("startPeriod", "2010") in params


def _broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "statistics.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_invalid_entries_are_named(tmp_path: Path) -> None:
    def bad_format(raw: dict) -> None:
        raw["eurostat"]["datasets"][0]["format"] = "xml"

    with pytest.raises(
        ConfigError, match=r"eurostat\.datasets\.0\.format: Input should be 'jsonstat'"
    ):
        load_config(_broken(tmp_path, bad_format))

    def duplicate(raw: dict) -> None:
        raw["eurostat"]["datasets"].append(raw["eurostat"]["datasets"][0])

    with pytest.raises(ConfigError, match=r"dataset ids listed twice: \['urb_cpop1'\]"):
        load_config(_broken(tmp_path, duplicate))

    def typo(raw: dict) -> None:
        raw["pxweb"]["tables"][0]["geo_mapping"] = {}

    with pytest.raises(ConfigError, match=r"pxweb\.tables\.0\.geo_mapping: Extra inputs"):
        load_config(_broken(tmp_path, typo))

    def no_edition(raw: dict) -> None:
        del raw["mipex"]["files"][0]["edition"]

    with pytest.raises(ConfigError, match="exactly one of edition or edition_column"):
        load_config(_broken(tmp_path, no_edition))

    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yml")


def test_unknown_dataset_lists_the_configured_ones(project_config) -> None:
    with pytest.raises(ConfigError, match=r"no Eurostat dataset 'urb_cpop2'.*urb_cpop1"):
        project_config.eurostat_dataset("urb_cpop2")


def test_config_file_is_valid_yaml_with_comments_for_analysts() -> None:
    text = CONFIG_PATH.read_text(encoding="utf-8")
    assert text.count("#") > 20
    assert load_config().eurostat.base_url.startswith("https://ec.europa.eu/eurostat/")
