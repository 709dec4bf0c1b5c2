"""What is published, read from dbt's manifest: the one definition of each publication.

A dbt model is published when its YAML declares it under `config.meta.publication`:

    config:
      meta:
        publication:
          bi: true          # copied to `published` (monitor_bi, monitor_extracts), suppressed
          detail: true      # copied in full to `published_detail` (monitor_detail)
          suppress: [posts] # post-count columns that must all be >= k in `published`
          indexes: [[city_code, day], [day]]
          suite: mart_city_area_daily   # expectations/suites/<suite>.json

Publish, the quality gate and the Superset dataset sync all read this, together with the model's
and its columns' descriptions, so the SQL, its documentation, its checks and where it goes are
declared beside each other in the dbt project. Only the standard library is used: the Superset
bootstrap (another virtualenv) reads it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.settings import load_settings

_KEYS = {"bi", "detail", "suppress", "indexes", "suite"}


class PublicationError(ValueError):
    """The manifest is missing or a model's `meta.publication` is malformed."""


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    data_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Publication:
    table: str
    bi: bool
    detail: bool
    suppress: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...]
    suite: str | None
    description: str
    columns: tuple[Column, ...]
    path: str  # the model's SQL file, relative to the dbt project

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def read_manifest(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or load_settings().manifest_path)
    if not path.is_file():
        raise PublicationError(
            f"dbt manifest not found at {path}: run `dbt parse` (or a dbt build) in dbt/ first"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PublicationError(f"{where}: expected a list of column names, got {value!r}")
    return tuple(value)


def _publication(node: dict[str, Any]) -> Publication | None:
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    spec = meta.get("publication")
    if spec is None:
        return None
    name = node["name"]
    where = f"{node.get('original_file_path', name)}: model {name} meta.publication"
    if not isinstance(spec, dict) or set(spec) - _KEYS:
        raise PublicationError(f"{where}: expected keys among {sorted(_KEYS)}, got {spec!r}")
    bi, detail = spec.get("bi", False), spec.get("detail", False)
    if not isinstance(bi, bool) or not isinstance(detail, bool) or not (bi or detail):
        raise PublicationError(f"{where}: bi and detail are booleans, at least one true")
    columns = tuple(
        Column(
            name=c["name"],
            description=(c.get("description") or "").strip(),
            data_type=c.get("data_type"),
            meta=dict(c.get("meta") or {}),
        )
        for c in (node.get("columns") or {}).values()
    )
    known = {c.name for c in columns}
    suppress = _strings(spec.get("suppress", []), f"{where}.suppress")
    indexes = tuple(_strings(ix, f"{where}.indexes") for ix in spec.get("indexes", []) or [])
    for col in (*suppress, *(c for ix in indexes for c in ix)):
        if col not in known:
            raise PublicationError(f"{where}: column {col!r} is not documented in the model")
    suite = spec.get("suite")
    if suite is not None and not isinstance(suite, str):
        raise PublicationError(f"{where}.suite: expected a suite name, got {suite!r}")
    return Publication(
        table=name,
        bi=bi,
        detail=detail,
        suppress=suppress,
        indexes=indexes,
        suite=suite,
        description=(node.get("description") or "").strip(),
        columns=columns,
        path=node.get("original_file_path", ""),
    )


def load_publications(manifest: dict[str, Any] | Path | None = None) -> tuple[Publication, ...]:
    """Every published model, by table name."""
    if not isinstance(manifest, dict):
        manifest = read_manifest(manifest)
    found = [
        pub
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and (pub := _publication(node)) is not None
    ]
    if not found:
        raise PublicationError("no model declares meta.publication in the dbt manifest")
    return tuple(sorted(found, key=lambda p: p.table))
