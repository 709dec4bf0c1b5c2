"""Contract tests on real Eurostat answers (../shared/data/eurostat, read at test time, never
copied): the JSON-stat responses of the statistics API, the all-confidential response, and
SDMX-CSV downloads in both layouts. What the parsers read is checked against the files read
independently with the csv/json modules."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from extractors.statistics.config import MappingRules
from extractors.statistics.jsonstat import parse_jsonstat
from extractors.statistics.model import EUROSTAT_FLAGS
from extractors.statistics.reference import geo_resolver
from extractors.statistics.sdmx_csv import parse_sdmx_csv
from extractors.statistics.store import map_rows

# Layout of each shared SDMX-CSV file (docs/test-data.md) and its Eurostat dataset.
SDMX_FILES = {
    "asylum_applicants_total.csv": ("sdmx-csv-2.0", "MIGR_ASYAPPCTZA"),
    "employment_by_citizenship.csv": ("sdmx-csv-2.0", "LFSA_EGAN"),
    "population_by_educational_attainment_level_and_citizenship.csv": (
        "sdmx-csv-2.0",
        "EDAT_LFS_9911",
    ),
    "migration_permits_issued.csv": ("sdmx-csv-1.0", "TPS00170"),
    "unemployment_by_citizenship.csv": ("sdmx-csv-1.0", "LFSA_UGAN"),
    "proportion_of_population_by_sex_and_citizenship.csv": ("sdmx-csv-1.0", "DEMO_POPPCCTZ"),
    "mean_and_median_income_by_citizenship.csv": ("sdmx-csv-1.0", "ILC_DI15"),
    "self_perceived_health_by_citizenship.csv": ("sdmx-csv-1.0", "HLTH_SILC_24"),
}


def _file(eurostat_dir: Path, *parts: str) -> Path:
    path = eurostat_dir.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} is not in the shared data (see docs/test-data.md)")
    return path


def test_jsonstat_monthly_unemployment(eurostat_dir: Path) -> None:
    path = _file(eurostat_dir, "jsonstat", "une-rt-m-geo-de-xx-since-2024-01.json")
    raw = json.loads(path.read_text())
    table = parse_jsonstat(path.read_bytes(), dataset="une_rt_m")
    assert table.dimensions == ["freq", "s_adj", "age", "unit", "sex", "geo"]
    assert table.label == raw["label"]
    assert table.updated is not None and table.updated.isoformat().startswith(raw["updated"][:19])
    # Every published value is read; the time positions Eurostat lists as having no data are not.
    no_data = set(raw["extension"]["positions-with-no-data"]["time"])
    times = raw["dimension"]["time"]["category"]["index"]
    expected = {t for t, pos in times.items() if pos not in no_data}
    assert {o.period for o in table.observations} == expected
    assert len(table.observations) == len(raw["value"])
    assert all(o.frequency == "M" and o.codes[-1] == "DE" for o in table.observations)
    by_period = {o.period: o.value for o in table.observations}
    for flat, value in raw["value"].items():
        period = next(t for t, pos in times.items() if pos == int(flat))
        assert by_period[period] == value
    rows, rejected = map_rows(table, MappingRules(), provider="eurostat", resolver=geo_resolver())
    assert not rejected
    assert {r[6] for r in rows} == {"DE"}  # geo
    assert {r[10] for r in rows} == {"PC_ACT"}  # unit
    assert rows[0][8] == "une_rt_m.SA.TOTAL.PC_ACT.T"  # indicator: every dimension but geo, freq


def test_all_confidential_response(eurostat_dir: Path) -> None:
    path = _file(eurostat_dir, "jsonstat", "sts-inpr-m-ie-confidential.json")
    raw = json.loads(path.read_text())
    assert raw["value"] == {}  # the contract: no value at all, only statuses
    table = parse_jsonstat(path.read_bytes(), dataset="sts_inpr_m")
    assert len(table.observations) == len(raw["status"]) == 6
    for obs in table.observations:
        assert obs.value is None
        assert obs.confidential is True
        assert obs.flags == ""
        assert obs.status_raw == "|C"
    assert [o.period for o in table.observations] == [f"2023-0{m}" for m in range(1, 7)]
    rows, rejected = map_rows(table, MappingRules(), provider="eurostat", resolver=geo_resolver())
    assert not rejected and {r[6] for r in rows} == {"IE"}
    assert all(r[12] is None and r[14] is True for r in rows)


@pytest.mark.parametrize("name", sorted(SDMX_FILES))
def test_sdmx_csv_downloads(eurostat_dir: Path, name: str) -> None:
    path = _file(eurostat_dir, "sdmx_csv", name)
    layout, structure = SDMX_FILES[name]
    with path.open(encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f))
    table = parse_sdmx_csv(path.read_bytes(), dataset=name.removesuffix(".csv"))
    assert table.data_format == layout
    first = raw[0]
    assert structure in (first.get("STRUCTURE_ID") or first.get("DATAFLOW") or "")
    # Every row is read (none rejected, none duplicated), blanks included.
    assert not table.rejected
    assert len(table.observations) == len(raw)
    blanks = [r for r in raw if r["OBS_VALUE"].strip() == ""]
    missing = [o for o in table.observations if o.value is None]
    assert len(missing) == len(blanks)
    # Flags as published, each letter a Eurostat flag; blank values carry theirs (u, ...).
    published = {"".join(sorted(r["OBS_FLAG"])) for r in raw}
    assert {o.flags for o in table.observations} == published
    assert {ch for o in table.observations for ch in o.flags} <= set(EUROSTAT_FLAGS)
    assert all(o.frequency == "A" for o in table.observations)
    # Geography: codes (2.0) or country names (1.0 with labels) all reconcile, Eurostat style.
    rules = MappingRules(geo_dimension="geo")
    rows, rejected = map_rows(table, rules, provider="eurostat_file", resolver=geo_resolver())
    assert rejected == [], rejected[:3]
    geos = {r[6] for r in rows}
    assert "GR" not in geos and "GB" not in geos
    if any(r.get("geo") in ("Greece", "EL") for r in raw):
        assert "EL" in geos
    if layout == "sdmx-csv-2.0":
        assert not table.codes_are_labels
        assert geos == {r["geo"] for r in raw}
    else:
        assert table.codes_are_labels


def test_sdmx_csv_flags_on_blank_values(eurostat_dir: Path) -> None:
    """The README's promise: flags b, p, u occur, some on blank values."""
    seen: set[str] = set()
    blank_flagged = 0
    for name in SDMX_FILES:
        path = eurostat_dir / "sdmx_csv" / name
        if not path.is_file():
            continue
        for o in parse_sdmx_csv(path.read_bytes(), dataset=name).observations:
            seen |= set(o.flags)
            blank_flagged += o.value is None and bool(o.flags)
    if not seen:
        pytest.skip("no shared SDMX-CSV files present")
    assert {"b", "p", "u"} <= seen
    assert blank_flagged > 0
