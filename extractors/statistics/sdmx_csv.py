"""SDMX-CSV from Eurostat, in both layouts it serves.

- **SDMX-CSV 1.0** (SDMX 2.1 API, ``format=SDMX-CSV``): ``DATAFLOW,LAST UPDATE,<dims>,
  TIME_PERIOD,OBS_VALUE,OBS_FLAG[,CONF_STATUS]``. Cells hold codes (``AT``), labels only
  (``Austria``, the "labels" download) or both as ``AT:Austria``.
- **SDMX-CSV 2.0** (SDMX 3.0 API, ``format=csvdata&formatVersion=2.0``): ``STRUCTURE,
  STRUCTURE_ID[,STRUCTURE_NAME][,ACTION],<dims>,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS``.
  With ``labels=both`` Eurostat adds a label column after every component
  (``geo,Geopolitical entity (reporting),...``) and STRUCTURE_NAME after STRUCTURE_ID.

Blank OBS_VALUE with a flag (``u``, ``c``) is a missing or suppressed value: it is kept, without
a value, because the flag is information. Two rows for the same cell with different content are
a contradiction in the file: both are rejected with the reason, never one silently kept.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import datetime

from extractors.statistics.model import (
    Observation,
    StatisticsTable,
    normalise_period,
    parse_number,
    parse_status,
)

log = logging.getLogger(__name__)

TIME_COLUMN = "TIME_PERIOD"
# Measure and attributes: everything else (besides the structure columns) is a dimension.
NON_DIMENSIONS = {
    "OBS_VALUE",
    "OBS_FLAG",
    "OBS_STATUS",
    "CONF_STATUS",
    "UNIT_MULT",
    "DECIMALS",
    "OBS_COMMENT",
    "COMMENT",
}
STRUCTURE_COLUMNS_20 = ("STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION")
_CODE_AND_LABEL = re.compile(r"^([A-Za-z0-9_\-.+]+):(.+)$")
_CODE_ONLY = re.compile(r"^[A-Za-z0-9_\-.+]*$")


class SdmxCsvError(ValueError):
    """The text is not SDMX-CSV in a layout this reader knows."""


def detect_layout(header: list[str]) -> str:
    first = header[0].lstrip("\ufeff").strip() if header else ""
    if first == "STRUCTURE":
        return "sdmx-csv-2.0"
    if first == "DATAFLOW":
        return "sdmx-csv-1.0"
    raise SdmxCsvError(
        f"not SDMX-CSV: the first column is {first!r}; SDMX-CSV 1.0 starts with DATAFLOW, "
        "2.0 with STRUCTURE (ask Eurostat for format=SDMX-CSV or format=csvdata)"
    )


def _parse_last_update(text: str) -> datetime | None:
    for fmt in ("%d/%m/%y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def parse_sdmx_csv(text: str | bytes, *, dataset: str) -> StatisticsTable:
    """Parse SDMX-CSV (1.0 or 2.0, codes and/or labels) into a :class:`StatisticsTable`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise SdmxCsvError(f"{dataset}: empty SDMX-CSV document") from None
    layout = detect_layout(header)

    # Which columns hold codes, and where each one's label column is (labels=both, 2.0).
    code_cols: list[tuple[str, int, int | None]] = []  # (component id, code column, label col)
    updated_col = None
    if layout == "sdmx-csv-2.0":
        paired = "STRUCTURE_NAME" in header
        i = 0
        while i < len(header):
            name = header[i]
            if name in STRUCTURE_COLUMNS_20:
                i += 1
                continue
            label_col = i + 1 if paired and i + 1 < len(header) else None
            code_cols.append((name, i, label_col))
            i += 2 if paired else 1
    else:
        for i, name in enumerate(header):
            if name == "DATAFLOW":
                continue
            if name == "LAST UPDATE":
                updated_col = i
                continue
            code_cols.append((name, i, None))
    components = {name: (i, lab) for name, i, lab in code_cols}
    missing = [c for c in (TIME_COLUMN, "OBS_VALUE") if c not in components]
    if missing:
        raise SdmxCsvError(f"{dataset}: SDMX-CSV without column(s) {', '.join(missing)}")
    dims = [(n, i, lab) for n, i, lab in code_cols if n not in NON_DIMENSIONS and n != TIME_COLUMN]
    label_header = {n: header[lab] for n, _, lab in dims if lab is not None}

    table = StatisticsTable(
        dataset=dataset,
        data_format=layout,
        dimensions=[n for n, _, _ in dims],
        dimension_labels={n: label_header.get(n, n) for n, _, _ in dims},
    )
    t_col = components[TIME_COLUMN][0]
    v_col = components["OBS_VALUE"][0]
    f_col = components.get("OBS_FLAG", (None, None))[0]
    c_col = components.get("CONF_STATUS", (None, None))[0]
    seen: dict[tuple[tuple[str, ...], str], tuple[int, Observation]] = {}
    conflicts: set[tuple[tuple[str, ...], str]] = set()
    periods: dict[str, tuple] = {}
    split_any = False
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        position = f"line {lineno}"
        if len(row) < len(header):
            table.rejected.append(
                (position, f"{len(row)} fields, the header has {len(header)}", ",".join(row))
            )
            continue
        if updated_col is not None and table.updated is None:
            table.updated = _parse_last_update(row[updated_col])
        if table.label is None and layout == "sdmx-csv-2.0" and "STRUCTURE_NAME" in header:
            table.label = row[header.index("STRUCTURE_NAME")] or None
        codes: list[str] = []
        labels: list[str | None] = []
        for _, col, lab in dims:
            cell = row[col].strip()
            label = row[lab].strip() if lab is not None else None
            m = _CODE_AND_LABEL.match(cell) if lab is None else None
            if m and layout == "sdmx-csv-1.0":
                cell, label = m.group(1), m.group(2).strip()
                split_any = True
            codes.append(cell)
            labels.append(label or (None if lab is not None else cell))
        raw_period = row[t_col].strip()
        try:
            if raw_period not in periods:
                periods[raw_period] = normalise_period(raw_period)
            period, freq, start = periods[raw_period]
            value = parse_number(row[v_col])
        except ValueError as exc:
            table.rejected.append((position, str(exc), ",".join(row)))
            continue
        flags, confidential = parse_status(
            row[f_col] if f_col is not None else None, row[c_col] if c_col is not None else None
        )
        status_parts = [row[f_col].strip() if f_col is not None else ""]
        if c_col is not None and row[c_col].strip():
            status_parts.append(row[c_col].strip())
        status_raw = "|".join(status_parts) if any(status_parts) else None
        obs = Observation(
            codes=tuple(codes),
            labels=tuple(labels),
            period=period,
            frequency=freq,
            period_start=start,
            value=None if confidential else value,
            flags=flags,
            confidential=confidential,
            status_raw=status_raw,
        )
        key = (obs.codes, period)
        if key in seen:
            if seen[key][1] != obs:
                conflicts.add(key)
            continue  # an exact repetition of a row adds nothing
        seen[key] = (lineno, obs)
    if layout == "sdmx-csv-1.0" and not split_any:
        table.codes_are_labels = any(
            not _CODE_ONLY.match(code) for _, obs in seen.values() for code in obs.codes
        )
    for key, (lineno, obs) in seen.items():
        if key in conflicts:
            table.rejected.append(
                (
                    f"line {lineno}",
                    f"the cell {'.'.join(key[0])} {key[1]} appears several times with different "
                    "values or flags",
                    f"{obs.value} {obs.flags}",
                )
            )
        else:
            table.observations.append(obs)
    log.info(
        "%s: %s, %d dimensions, %d observations, %d rejected",
        dataset,
        layout,
        len(table.dimensions),
        len(table.observations),
        len(table.rejected),
    )
    return table
