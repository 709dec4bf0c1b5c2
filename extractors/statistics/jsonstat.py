"""JSON-stat 2.0 datasets, as served by Eurostat's statistics API and by PxWeb (``json-stat2``).

A JSON-stat dataset is a cube: ``id`` and ``size`` list the dimensions, ``value`` holds the cells
in row-major order (last dimension fastest) either as a list or as an object keyed by the flat
index (Eurostat sends only the cells that exist), and ``status`` does the same for observation
statuses. A cell may have a status and no value: Eurostat's all-confidential answer is
``"value": {}`` with ``"status": {"0": "|C", ...}``; such cells are kept, with no value, because
"confidential" is information a user must see. Cells with neither value nor status do not exist
(Eurostat lists them in ``extension.positions-with-no-data``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from math import prod
from typing import Any

from extractors.statistics.model import (
    Observation,
    StatisticsTable,
    normalise_period,
    parse_number,
    parse_status,
)

log = logging.getLogger(__name__)

# Used when a dataset has no role.time: Eurostat says "time", SDMX "TIME_PERIOD", PxWeb tables
# name it in their own language (Statistics Sweden "Tid", Statistics Finland "Vuosi").
TIME_DIMENSION_NAMES = ("time", "TIME_PERIOD", "Tid", "tid", "Vuosi", "Year", "year", "Ar", "År")


class JsonStatError(ValueError):
    """The document is not a JSON-stat 2.0 dataset, or the service answered with an error."""


def _categories(dataset: str, dim_id: str, dim: dict[str, Any], size: int) -> list[str]:
    category = dim.get("category") or {}
    index = category.get("index")
    if index is None:
        labels = category.get("label") or {}
        if len(labels) != 1 and size != 1:
            raise JsonStatError(f"{dataset}: dimension {dim_id!r} has no category index")
        codes = list(labels) or ["_"]
    elif isinstance(index, list):
        codes = [str(c) for c in index]
    else:
        codes = [""] * len(index)
        for code, pos in index.items():
            codes[int(pos)] = str(code)
    if len(codes) != size:
        raise JsonStatError(
            f"{dataset}: dimension {dim_id!r} lists {len(codes)} categories but size says {size}"
        )
    return codes


def _cells(container: Any, total: int) -> Iterable[tuple[int, Any]]:
    if container is None:
        return []
    if isinstance(container, list):
        return ((i, v) for i, v in enumerate(container) if v is not None)
    if isinstance(container, dict):
        return ((int(k), v) for k, v in container.items() if v is not None)
    # A single status string applies to every cell (allowed by JSON-stat).
    return ((i, container) for i in range(total))


def _parse_updated(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        log.warning("unreadable 'updated' timestamp %r (ignored)", text)
        return None


def parse_jsonstat(
    document: bytes | str | dict[str, Any],
    *,
    dataset: str,
    time_dimension: str | None = None,
    status_map: Callable[[str], tuple[str, bool]] | None = None,
    data_format: str = "jsonstat",
) -> StatisticsTable:
    """Parse a JSON-stat 2.0 dataset into a :class:`StatisticsTable`.

    ``status_map`` turns a published status into ``(flags, confidential)``; the default reads
    Eurostat statuses (``p``, ``bp``, ``|C``). PxWeb passes its own (``..`` not available).
    """
    doc = json.loads(document) if isinstance(document, bytes | str) else document
    if not isinstance(doc, dict):
        raise JsonStatError(f"{dataset}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("class") == "error" or "error" in doc:
        err = doc.get("error")
        detail = err if isinstance(err, str | list) else (err or doc)
        raise JsonStatError(f"{dataset}: the service answered with an error: {detail}")
    if doc.get("class", "dataset") != "dataset" or "id" not in doc or "size" not in doc:
        raise JsonStatError(
            f"{dataset}: not a JSON-stat 2.0 dataset (class={doc.get('class')!r}, "
            f"keys={sorted(doc)[:8]})"
        )
    ids: list[str] = [str(i) for i in doc["id"]]
    sizes: list[int] = [int(s) for s in doc["size"]]
    if len(ids) != len(sizes):
        raise JsonStatError(f"{dataset}: 'id' has {len(ids)} entries but 'size' {len(sizes)}")
    dims = doc.get("dimension") or {}
    codes = [_categories(dataset, d, dims.get(d) or {}, n) for d, n in zip(ids, sizes, strict=True)]
    labels = [((dims.get(d) or {}).get("category") or {}).get("label") or {} for d in ids]

    time_dim = time_dimension or next(iter((doc.get("role") or {}).get("time") or []), None)
    if time_dim is None:
        time_dim = next((d for d in TIME_DIMENSION_NAMES if d in ids), None)
    if time_dim not in ids:
        raise JsonStatError(
            f"{dataset}: cannot tell which dimension is time (dimensions: {', '.join(ids)}); "
            "set time_dimension in config/statistics.yml"
        )
    t = ids.index(time_dim)

    # PxWeb puts units on the metric dimension's categories: {"BE0101N1": {"base": "number"}}.
    units: dict[str, str] = {}
    for d in ids:
        for code, unit in (((dims.get(d) or {}).get("category") or {}).get("unit") or {}).items():
            base = unit.get("base") if isinstance(unit, dict) else None
            if base:
                units[str(code)] = str(base)

    total = prod(sizes)
    values = dict(_cells(doc.get("value"), total))
    statuses = dict(_cells(doc.get("status"), total))
    read_status = status_map or parse_status
    # Row-major strides: the flat index of (i0, i1, ...) is sum(i_k * stride_k).
    strides = [prod(sizes[k + 1 :]) for k in range(len(sizes))]
    periods: dict[str, tuple[str, str, Any]] = {}
    table = StatisticsTable(
        dataset=dataset,
        data_format=data_format,
        dimensions=[d for d in ids if d != time_dim],
        dimension_labels={d: str((dims.get(d) or {}).get("label") or d) for d in ids},
        label=doc.get("label"),
        updated=_parse_updated(doc.get("updated")),
        units=units,
    )
    for flat in sorted(values.keys() | statuses.keys()):
        if not 0 <= flat < total:
            table.rejected.append((f"cell {flat}", "cell index outside the cube", ""))
            continue
        pos = [(flat // strides[k]) % sizes[k] for k in range(len(sizes))]
        cell_codes = [codes[k][pos[k]] for k in range(len(ids))]
        raw_period = cell_codes[t]
        try:
            if raw_period not in periods:
                periods[raw_period] = normalise_period(raw_period)
            period, freq, start = periods[raw_period]
            value = parse_number(values.get(flat))
        except ValueError as exc:
            table.rejected.append((f"cell {flat}", str(exc), json.dumps(cell_codes)))
            continue
        status = statuses.get(flat)
        flags, confidential = read_status(str(status)) if status is not None else ("", False)
        table.observations.append(
            Observation(
                codes=tuple(c for k, c in enumerate(cell_codes) if k != t),
                labels=tuple(labels[k].get(c) for k, c in enumerate(cell_codes) if k != t),
                period=period,
                frequency=freq,
                period_start=start,
                value=None if confidential else value,
                flags=flags,
                confidential=confidential,
                status_raw=None if status is None else str(status),
            )
        )
    log.info(
        "%s: JSON-stat %s, %d dimensions, %d cells with data or status",
        dataset,
        "x".join(map(str, sizes)),
        len(ids),
        len(table.observations),
    )
    return table
