"""Parsers of the statistics wire formats on project-written documents: JSON-stat 2.0 (Eurostat
and PxWeb flavours), SDMX-CSV 1.0 and 2.0, periods, flags and confidentiality."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from extractors.statistics.jsonstat import JsonStatError, parse_jsonstat
from extractors.statistics.model import code_key, normalise_period, parse_status
from extractors.statistics.pxweb import pxweb_status
from extractors.statistics.sdmx_csv import SdmxCsvError, parse_sdmx_csv
from tests.extractors.statistics.wire import jsonstat_dataset, pxweb_jsonstat2, sdmx_csv_20


@pytest.mark.parametrize(
    ("raw", "period", "freq", "start"),
    [
        ("2024", "2024", "A", date(2024, 1, 1)),
        ("2024-Q3", "2024-Q3", "Q", date(2024, 7, 1)),
        ("2024Q3", "2024-Q3", "Q", date(2024, 7, 1)),
        ("2024K3", "2024-Q3", "Q", date(2024, 7, 1)),  # PxWeb, Swedish "kvartal"
        ("2024-07", "2024-07", "M", date(2024, 7, 1)),
        ("2024M07", "2024-07", "M", date(2024, 7, 1)),
        ("2024M7", "2024-07", "M", date(2024, 7, 1)),
        ("2024-S2", "2024-S2", "S", date(2024, 7, 1)),
        ("2024-W05", "2024-W05", "W", date(2024, 1, 29)),
        ("2024-02-29", "2024-02-29", "D", date(2024, 2, 29)),
    ],
)
def test_periods_are_normalised(raw: str, period: str, freq: str, start: date) -> None:
    assert normalise_period(raw) == (period, freq, start)


def test_unknown_period_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match=r"unknown time period '2024-13'.*quarterly"):
        normalise_period("2024-13")


def test_flags_and_confidentiality(caplog: pytest.LogCaptureFixture) -> None:
    assert parse_status("p") == ("p", False)
    assert parse_status("pbe") == ("bep", False)  # combined flags, sorted
    assert parse_status("|C") == ("", True)  # JSON-stat: no flag, confidential
    assert parse_status("p|C") == ("p", True)
    assert parse_status("", "C") == ("", True)  # SDMX-CSV: CONF_STATUS column
    assert parse_status("", "F") == ("", False)  # F = free for publication
    assert parse_status("c") == ("c", True)  # legacy confidential flag
    assert parse_status(":") == ("", False)
    with caplog.at_level(logging.WARNING):
        assert parse_status("q") == ("q", False)  # unknown: kept, and said
    assert "unknown Eurostat observation flag 'q'" in caplog.text
    assert pxweb_status("..") == ("m", False)
    assert pxweb_status("...") == ("z", False)


def test_code_key_keeps_codes_and_slugifies_labels() -> None:
    assert code_key("THS_PER") == "THS_PER"
    assert code_key("Y15-74") == "Y15-74"
    assert code_key("Thousand persons") == "thousand_persons"
    assert code_key("Total", slug=True) == "total"


CITIES_DIMS = [
    ("freq", "Time frequency", [("A", "Annual")]),
    ("indic_ur", "Urban audit indicator", [("DE1001V", "Population on the 1st of January, total")]),
    ("cities", "Geopolitical entity (declaring)", [("SE003C", "Malmö"), ("NL037C", "Rotterdam")]),
    ("time", "Time", [("2021", "2021"), ("2022", "2022"), ("2023", "2023")]),
]


def test_jsonstat_sparse_values_status_and_missing_cells() -> None:
    doc = jsonstat_dataset(
        CITIES_DIMS,
        {
            ("A", "DE1001V", "SE003C", "2021"): 350647,
            ("A", "DE1001V", "SE003C", "2022"): 357377,
            ("A", "DE1001V", "NL037C", "2021"): 651157,
        },
        status={("A", "DE1001V", "SE003C", "2022"): "p", ("A", "DE1001V", "NL037C", "2022"): "|C"},
    )
    table = parse_jsonstat(doc, dataset="urb_cpop1")
    assert table.dimensions == ["freq", "indic_ur", "cities"]
    assert table.updated is not None and table.updated.year == 2026
    cells = {(o.codes[2], o.period): o for o in table.observations}
    # 3 values + 1 confidential cell; 2023 has no data at all and is absent.
    assert sorted(cells) == [
        ("NL037C", "2021"),
        ("NL037C", "2022"),
        ("SE003C", "2021"),
        ("SE003C", "2022"),
    ]
    assert cells[("SE003C", "2022")].value == 357377 and cells[("SE003C", "2022")].flags == "p"
    confidential = cells[("NL037C", "2022")]
    assert (confidential.value, confidential.confidential, confidential.status_raw) == (
        None,
        True,
        "|C",
    )
    assert cells[("SE003C", "2021")].labels[2] == "Malmö"


def test_jsonstat_errors_are_explained() -> None:
    with pytest.raises(JsonStatError, match=r"answered with an error.*too big"):
        parse_jsonstat(
            json.dumps({"version": "2.0", "class": "error", "error": "EXTRACTION too big"}),
            dataset="x",
        )
    doc = json.loads(jsonstat_dataset(CITIES_DIMS, {("A", "DE1001V", "SE003C", "2021"): 1}))
    doc["size"][2] = 5
    with pytest.raises(JsonStatError, match="'cities' lists 2 categories but size says 5"):
        parse_jsonstat(doc, dataset="x")
    del doc["dimension"]["time"]
    doc["id"][3] = "period"
    doc["size"][2] = 2
    doc["dimension"]["period"] = {"category": {"index": {"2021": 0, "2022": 1, "2023": 2}}}
    with pytest.raises(JsonStatError, match="which dimension is time"):
        parse_jsonstat(doc, dataset="x")


def test_pxweb_jsonstat2_list_values_with_symbols() -> None:
    body = pxweb_jsonstat2(
        [("0180", "Stockholm"), ("1280", "Malmö")],
        ["2022", "2023"],
        [978770, 984748, 357377, None],
        status={3: ".."},
    )
    table = parse_jsonstat(body, dataset="scb", status_map=pxweb_status)
    assert table.units == {"BE0101N1": "number"}
    cells = {(o.codes[0], o.period): o for o in table.observations}
    assert cells[("0180", "2023")].value == 984748
    missing = cells[("1280", "2023")]
    assert (missing.value, missing.flags, missing.status_raw) == (None, "m", "..")


ASYLUM_DIMS = [
    ("freq", "Time frequency"),
    ("citizen", "Country of citizenship"),
    ("unit", "Unit of measure"),
    ("geo", "Geopolitical entity (reporting)"),
]


def _asylum_rows() -> list:
    return [
        (
            [("A", "Annual"), ("TOTAL", "Total"), ("PER", "Person"), ("AT", "Austria")],
            "2023",
            "58685",
            "",
            "",
        ),
        (
            [("A", "Annual"), ("TOTAL", "Total"), ("PER", "Person"), ("EL", "Greece")],
            "2023",
            "64275",
            "p",
            "",
        ),
        (
            [("A", "Annual"), ("TOTAL", "Total"), ("PER", "Person"), ("MT", "Malta")],
            "2023",
            "",
            "",
            "C",
        ),
    ]


def test_sdmx_csv_20_with_labels() -> None:
    body = sdmx_csv_20("MIGR_ASYAPPCTZA", "Asylum applicants, annual", ASYLUM_DIMS, _asylum_rows())
    table = parse_sdmx_csv(body, dataset="migr_asyappctza")
    assert table.data_format == "sdmx-csv-2.0"
    assert table.label == "Asylum applicants, annual"
    assert table.dimensions == ["freq", "citizen", "unit", "geo"]
    assert table.dimension_labels["geo"] == "Geopolitical entity (reporting)"
    by_geo = {o.codes[3]: o for o in table.observations}
    assert by_geo["AT"].labels == ("Annual", "Total", "Person", "Austria")
    assert (by_geo["EL"].value, by_geo["EL"].flags) == (64275, "p")
    assert (by_geo["MT"].value, by_geo["MT"].confidential, by_geo["MT"].status_raw) == (
        None,
        True,
        "|C",
    )


def test_sdmx_csv_10_codes_labels_and_both() -> None:
    header = (
        "DATAFLOW,LAST UPDATE,freq,unit,citizen,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS\n"
    )
    codes = parse_sdmx_csv(
        header + "ESTAT:LFSA_UGAN(1.0),13/03/25 23:00:00,A,THS_PER,FOR,SE,2023,98.1,,\n",
        dataset="lfsa_ugan",
    )
    assert codes.observations[0].codes == ("A", "THS_PER", "FOR", "SE")
    assert codes.updated is not None and codes.updated.year == 2025
    assert not codes.codes_are_labels
    labels = parse_sdmx_csv(
        header
        + "ESTAT:LFSA_UGAN(1.0),13/03/25 23:00:00,Annual,Thousand persons,Foreign country,Sweden,2023,,u,\n",
        dataset="lfsa_ugan",
    )
    obs = labels.observations[0]
    assert labels.codes_are_labels and obs.codes[3] == "Sweden"
    assert (obs.value, obs.flags) == (None, "u")  # blank value with a flag: kept, without value
    both = parse_sdmx_csv(
        header
        + "ESTAT:LFSA_UGAN(1.0),13/03/25 23:00:00,A:Annual,THS_PER:Thousand persons,FOR:Foreign country,SE:Sweden,2023-Q2,12.5,p,\n",
        dataset="lfsa_ugan",
    )
    obs = both.observations[0]
    assert obs.codes == ("A", "THS_PER", "FOR", "SE") and obs.labels[3] == "Sweden"
    assert (obs.period, obs.frequency) == ("2023-Q2", "Q")


def test_sdmx_csv_rejects_contradictions_and_broken_rows() -> None:
    header = "DATAFLOW,freq,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
    table = parse_sdmx_csv(
        header
        + "ESTAT:X(1.0),A,AT,2023,1.5,\n"
        + "ESTAT:X(1.0),A,AT,2023,1.5,\n"  # exact repetition: harmless
        + "ESTAT:X(1.0),A,BE,2023,2.0,\n"
        + "ESTAT:X(1.0),A,BE,2023,2.5,\n"  # same cell, other value: both rejected
        + "ESTAT:X(1.0),A,DE\n"
        + "ESTAT:X(1.0),A,DK,2023-13,1,\n",
        dataset="x",
    )
    assert [o.codes for o in table.observations] == [("A", "AT")]
    reasons = [r[1] for r in table.rejected]
    assert any("appears several times" in r for r in reasons)
    assert any("3 fields, the header has 6" in r for r in reasons)
    assert any("unknown time period" in r for r in reasons)
    with pytest.raises(SdmxCsvError, match="first column is 'geo'"):
        parse_sdmx_csv("geo,TIME_PERIOD,OBS_VALUE\nAT,2023,1\n", dataset="x")
