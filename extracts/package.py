"""Data packages: tables as CSV (UTF-8), XLSX and Parquet, a Frictionless `datapackage.json`, a
README and SHA-256 checksums, zipped under a deterministic name.

The same tables give the same bytes: rows arrive sorted, no file carries the wall clock (the
only time in a package is the publication's own), the XLSX's document properties and every zip
entry (the package's and the XLSX's, which is a zip too) carry a fixed timestamp, and Parquet
is written without the pandas metadata and with fixed options. A re-run of the same
subscription and interval on the same publication therefore rebuilds an identical package,
which is how the delivery log recognises what it already delivered.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# Zip timestamps: the earliest a zip can hold, so that nothing depends on when it was built.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# PostgreSQL type (information_schema data_type, or the element udt name of an array) ->
# (Frictionless type, Arrow type name).
_TYPES = {
    "text": ("string", "string"),
    "character varying": ("string", "string"),
    "integer": ("integer", "int64"),
    "bigint": ("integer", "int64"),
    "smallint": ("integer", "int64"),
    "numeric": ("number", "float64"),
    "double precision": ("number", "float64"),
    "real": ("number", "float64"),
    "date": ("date", "date32"),
    "boolean": ("boolean", "bool"),
    "timestamp with time zone": ("datetime", "timestamp"),
    "timestamp without time zone": ("datetime", "timestamp"),
}
_ARRAY = {"_text": "string", "_varchar": "string", "_int4": "int64", "_int8": "int64"}


@dataclass
class Table:
    name: str
    description: str
    columns: list[dict[str, Any]]  # name, type (PostgreSQL), description, unit
    rows: list[tuple]
    withheld: int = 0

    def kinds(self) -> list[tuple[str, str]]:
        out = []
        for c in self.columns:
            pg = c["type"]
            if pg in _ARRAY:
                out.append(("array", "list:" + _ARRAY[pg]))
            else:
                out.append(_TYPES.get(pg, ("string", "string")))
        return out


@dataclass
class Package:
    name: str  # file stem, also the Frictionless package name
    title: str
    descriptor: dict[str, Any]  # everything datapackage.json says beyond resources
    readme: str
    tables: list[Table]
    formats: list[str]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return repr(float(value))
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def csv_bytes(table: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c["name"] for c in table.columns])
    for row in table.rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def parquet_bytes(table: Table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def arrow_type(name: str):
        if name.startswith("list:"):
            return pa.list_(arrow_type(name[5:]))
        if name == "timestamp":
            return pa.timestamp("us", tz="UTC")
        return getattr(pa, name + "_" if name == "bool" else name)()

    arrays, fields = [], []
    for i, (col, (_, kind)) in enumerate(zip(table.columns, table.kinds(), strict=True)):
        values = [r[i] for r in table.rows]
        if kind == "float64":
            values = [None if v is None else float(v) for v in values]
        typ = arrow_type(kind)
        arrays.append(pa.array(values, type=typ))
        meta = {"description": col["description"]}
        if col.get("unit"):
            meta["unit"] = col["unit"]
        fields.append(pa.field(col["name"], typ, metadata=meta))
    schema = pa.schema(fields, metadata={"description": table.description})
    out = pa.BufferOutputStream()
    pq.write_table(
        pa.Table.from_arrays(arrays, schema=schema),
        out,
        compression="zstd",
        compression_level=3,
        write_statistics=True,
        store_schema=True,
    )
    return out.getvalue().to_pybytes()


def _normalise_zip(data: bytes, *, replace: dict[str, bytes] | None = None) -> bytes:
    """Rewrite a zip with sorted entries and fixed timestamps (an XLSX is a zip)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        names = src.namelist()
        # [Content_Types].xml first, as Office expects; then the order openpyxl wrote.
        for name in sorted(names, key=lambda n: (n != "[Content_Types].xml", names.index(n))):
            body = (replace or {}).get(name, src.read(name))
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, body, compresslevel=6)
    return out.getvalue()


def xlsx_bytes(tables: list[Table], *, title: str, stamp: datetime) -> bytes:
    """One sheet per table, after a `columns` sheet that documents every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    doc = wb.active
    doc.title = "columns"
    doc.append(["table", "column", "type", "unit", "description"])
    for t in tables:
        doc.append([t.name, "", "", "", t.description])
        for c, (kind, _) in zip(t.columns, t.kinds(), strict=True):
            doc.append([t.name, c["name"], kind, c.get("unit") or "", c["description"]])
    for cell in doc[1]:
        cell.font = Font(bold=True)
    for t in tables:
        ws = wb.create_sheet(t.name[:31])
        ws.append([c["name"] for c in t.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in t.rows:
            ws.append(
                [
                    json.dumps(list(v), ensure_ascii=False)
                    if isinstance(v, list | tuple)
                    else float(v)
                    if isinstance(v, Decimal)
                    else v.replace(tzinfo=None)
                    if isinstance(v, datetime)
                    else v
                    for v in row
                ]
            )
        ws.freeze_panes = "A2"
    stamp = stamp.replace(tzinfo=None, microsecond=0)
    wb.properties.creator = "European Monitor on Urban Integration"
    wb.properties.title = title
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl sets `modified` to the time of saving: put the publication's time back.
    core = zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("docProps/core.xml").decode()
    core = re.sub(
        r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
        lambda m: m.group(1) + stamp.isoformat() + "Z" + m.group(2),
        core,
    )
    return _normalise_zip(buf.getvalue(), replace={"docProps/core.xml": core.encode()})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _schema(table: Table) -> dict[str, Any]:
    fields = []
    for c, (kind, _) in zip(table.columns, table.kinds(), strict=True):
        f: dict[str, Any] = {"name": c["name"], "type": kind, "description": c["description"]}
        if c.get("unit"):
            f["unit"] = c["unit"]
        fields.append(f)
    return {"fields": fields}


def build_files(pkg: Package, *, stamp: datetime) -> dict[str, bytes]:
    """Every file of the package by its path inside the zip, datapackage.json included."""
    files: dict[str, bytes] = {}
    resources = []
    for t in pkg.tables:
        if "csv" in pkg.formats or not pkg.formats:
            path = f"data/{t.name}.csv"
            files[path] = csv_bytes(t)
            resources.append(
                {
                    "name": t.name,
                    "type": "table",
                    "path": path,
                    "scheme": "file",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                    "description": t.description,
                    "schema": _schema(t),
                    "x_rows": len(t.rows),
                    "x_withheld_cells": t.withheld,
                }
            )
        if "parquet" in pkg.formats:
            path = f"data/{t.name}.parquet"
            files[path] = parquet_bytes(t)
            resources.append(
                {
                    "name": f"{t.name}_parquet",
                    "type": "file",
                    "path": path,
                    "scheme": "file",
                    "format": "parquet",
                    "mediatype": "application/vnd.apache.parquet",
                    "description": f"{t.name} as Parquet (same rows and columns as the CSV).",
                }
            )
    if "xlsx" in pkg.formats and pkg.tables:
        path = f"{pkg.name}.xlsx"
        files[path] = xlsx_bytes(pkg.tables, title=pkg.title, stamp=stamp)
        resources.append(
            {
                "name": "workbook",
                "type": "file",
                "path": path,
                "scheme": "file",
                "format": "xlsx",
                "mediatype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "description": "Every table as a sheet, after a `columns` sheet documenting them.",
            }
        )
    files["README.md"] = pkg.readme.encode("utf-8")
    for res in resources:
        data = files[res["path"]]
        res["bytes"] = len(data)
        res["hash"] = "sha256:" + sha256(data)
    descriptor = {"name": pkg.name.replace("_", "-"), "title": pkg.title, **pkg.descriptor}
    descriptor["resources"] = resources
    files["datapackage.json"] = (
        json.dumps(descriptor, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    ).encode("utf-8")
    files["SHA256SUMS"] = "".join(
        f"{sha256(files[p])}  {p}\n" for p in sorted(files) if p != "SHA256SUMS"
    ).encode()
    return files


def zip_bytes(files: dict[str, bytes], folder: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{path}", ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[path], compresslevel=6)
    return out.getvalue()


@dataclass(frozen=True)
class Built:
    name: str  # <name>.zip
    path: Path
    sha256: str
    size: int


def write_package(pkg: Package, out_dir: Path, *, stamp: datetime) -> Built:
    files = build_files(pkg, stamp=stamp)
    data = zip_bytes(files, pkg.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{pkg.name}.zip"
    tmp = path.with_suffix(".zip.part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return Built(path.name, path, sha256(data), len(data))
