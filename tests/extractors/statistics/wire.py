"""Project-written answers in the statistics APIs' true wire formats (values are made up).

The shapes follow the real answers kept in ../shared/data/eurostat (read by the contract tests):
Eurostat JSON-stat 2.0 (``value``/``status`` keyed by flat index, ``extension`` with
``positions-with-no-data``), SDMX-CSV 2.0 with labels (a label column after every component),
SDMX-CSV 1.0, the asynchronous-delivery envelopes, and PxWeb's json-stat2 (``value`` as a list,
``role``, metric units).
"""

from __future__ import annotations

import io
import json
import zipfile
from itertools import product
from math import prod

Dim = tuple[str, str, list[tuple[str, str]]]  # (id, label, [(code, label), ...])


def jsonstat_dataset(
    dims: list[Dim],
    values: dict[tuple[str, ...], float | None],
    *,
    status: dict[tuple[str, ...], str] | None = None,
    label: str = "Test dataset",
    updated: str = "2026-03-01T23:00:00+0100",
    extension_id: str = "TEST",
) -> bytes:
    """A Eurostat-style JSON-stat 2.0 dataset; cells keyed by their codes in dimension order."""
    ids = [d[0] for d in dims]
    sizes = [len(d[2]) for d in dims]
    index = [{code: i for i, (code, _) in enumerate(d[2])} for d in dims]

    def flat(codes: tuple[str, ...]) -> int:
        pos = 0
        for k, code in enumerate(codes):
            pos = pos * sizes[k] + index[k][code]
        return pos

    value = {str(flat(k)): v for k, v in values.items() if v is not None}
    stat = {str(flat(k)): s for k, s in (status or {}).items()}
    filled = {flat(k) for k in values} | {flat(k) for k in (status or {})}
    time_k = ids.index("time")
    no_data = sorted(
        {
            index[time_k][codes[time_k]]
            for codes in product(*[[c for c, _ in d[2]] for d in dims])
            if flat(codes) not in filled
        }
    )
    doc = {
        "version": "2.0",
        "class": "dataset",
        "label": label,
        "source": "ESTAT",
        "updated": updated,
        "value": value,
        **({"status": stat} if stat else {}),
        "id": ids,
        "size": sizes,
        "dimension": {
            d[0]: {
                "label": d[1],
                "category": {
                    "index": {code: i for i, (code, _) in enumerate(d[2])},
                    "label": dict(d[2]),
                },
            }
            for d in dims
        },
        "extension": {
            "lang": "EN",
            "id": extension_id,
            "agencyId": "ESTAT",
            "version": "1.0",
            **({"status": {"label": {"|C": "|confidential"}}} if stat else {}),
            "positions-with-no-data": {d: (no_data if d == "time" else []) for d in ids},
        },
    }
    assert len(value) <= prod(sizes)
    return json.dumps(doc, ensure_ascii=False).encode()


def sdmx_csv_20(
    flow: str,
    name: str,
    dims: list[tuple[str, str]],
    rows: list[tuple[list[tuple[str, str]], str, str, str, str]],
) -> bytes:
    """SDMX-CSV 2.0 with labels=both: rows are ([(code, label) per dim], time, value, flag, conf)."""
    header = ["STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME"]
    for dim_id, dim_label in dims:
        header += [dim_id, dim_label]
    header += [
        "TIME_PERIOD",
        "Time",
        "OBS_VALUE",
        "Observation value",
        "OBS_FLAG",
        "Observation status (Flag) V2 structure",
        "CONF_STATUS",
        "Confidentiality status (flag)",
    ]
    lines = [",".join(header)]
    for cells, time, value, flag, conf in rows:
        out = ["dataflow", f"ESTAT:{flow}(1.0)", f'"{name}"']
        for code, label in cells:
            out += [code, f'"{label}"' if "," in label else label]
        out += [time, "", value, "", flag, "", conf, ""]
        lines.append(",".join(out))
    return ("\n".join(lines) + "\n").encode()


def async_queued(key: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/>'
        "<env:Body><ns0:syncResponse xmlns:ns0="
        '"http://estat.ec.europa.eu/disschain/soap/extraction">'
        f"<processingTime>1023</processingTime><queued><id>{key}</id>"
        "<status>SUBMITTED</status></queued></ns0:syncResponse></env:Body></env:Envelope>"
    ).encode()


def async_status(key: str, status: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/>'
        "<env:Body><ns0:asyncResponse xmlns:ns0="
        '"http://estat.ec.europa.eu/disschain/soap/asyncextraction">'
        f"<status><key>{key}</key><status>{status}</status></status>"
        "</ns0:asyncResponse></env:Body></env:Envelope>"
    ).encode()


def zipped(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def pxweb_jsonstat2(
    regions: list[tuple[str, str]],
    years: list[str],
    values: list[float | None],
    *,
    status: dict[int, str] | None = None,
    contents: tuple[str, str] = ("BE0101N1", "Population"),
) -> bytes:
    """A PxWeb json-stat2 answer for Region x ContentsCode x Tid (values row-major, a list)."""
    assert len(values) == len(regions) * len(years)
    doc = {
        "class": "dataset",
        "label": "Population by region and year",
        "source": "Statistics Sweden",
        "updated": "2026-02-20T07:00:00Z",
        "id": ["Region", "ContentsCode", "Tid"],
        "size": [len(regions), 1, len(years)],
        "dimension": {
            "Region": {
                "label": "region",
                "category": {
                    "index": {c: i for i, (c, _) in enumerate(regions)},
                    "label": dict(regions),
                },
            },
            "ContentsCode": {
                "label": "observations",
                "category": {
                    "index": {contents[0]: 0},
                    "label": {contents[0]: contents[1]},
                    "unit": {contents[0]: {"base": "number", "decimals": 0}},
                },
            },
            "Tid": {
                "label": "year",
                "category": {
                    "index": {y: i for i, y in enumerate(years)},
                    "label": {y: y for y in years},
                },
            },
        },
        "value": values,
        **({"status": {str(k): v for k, v in status.items()}} if status else {}),
        "role": {"time": ["Tid"], "metric": ["ContentsCode"]},
        "version": "2.0",
        "extension": {"px": {"infofile": "BE0101", "tableid": "TAB638", "decimals": 0}},
    }
    return json.dumps(doc, ensure_ascii=False).encode()
