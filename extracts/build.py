"""Assemble a subscriber's package for one data interval from one snapshot of `published`.

Tables are the subscription's contents, restricted to its scope and interval, with the
documented columns it asks for and, per extra language, a label column for each area and
dimension (dbt/seeds/area_labels.csv). The descriptor records where the figures came from: the
gate run and publication, the classifier versions, the suppression threshold k and the cells it
withheld, the sources and their coverage caveats, the licence.
"""

from __future__ import annotations

import csv
from datetime import datetime

from core.publications import Publication
from core.reference import seed_file
from core.settings import load_settings
from extracts.config import LABELS_SEED, Subscriber, geo_column, publications, time_column
from extracts.config import License as LicenseSpec
from extracts.package import Package, Table
from extracts.periods import Interval
from extracts.read import PublicationRecord, Query, Scope, Snapshot

SOURCE_TITLES = {
    "social": "Public social-media posts (Mastodon, Bluesky, Reddit, RSS, file imports), "
    "scrubbed and pseudonymised, classified by the monitor's models",
    "statistics": "Official statistics: Eurostat, national statistics offices (PxWeb), MIPEX",
}


def labels() -> dict[tuple[str, str, str], str]:
    with seed_file(LABELS_SEED).open(encoding="utf-8") as f:
        return {(r["kind"], r["id"], r["lang"]): r["label"] for r in csv.DictReader(f)}


def package_name(sub: Subscriber, interval: Interval) -> str:
    return f"{sub.name}_{interval.start.isoformat()}_{interval.end.isoformat()}"


def _column(pub: Publication, name: str, pg_type: str) -> dict:
    col = pub.column(name)
    return {
        "name": name,
        "type": pg_type,
        "description": col.description if col else "",
        "unit": (col.meta.get("unit") if col else None),
    }


def read_table(
    snap: Snapshot,
    pub: Publication,
    content,
    interval: Interval,
    scope: Scope,
    languages: list[str],
    label_map: dict,
) -> Table:
    types = snap.column_types(pub.table)
    documented = [c.name for c in pub.columns if c.name in types]
    columns = tuple(content.columns or documented)
    q = Query(
        table=pub.table,
        columns=columns,
        time_column=time_column(pub),
        geo_column=geo_column(pub),
        filters=dict(content.filters),
    )
    rows = snap.rows(q, interval, scope)
    cols = [_column(pub, c, types[c]) for c in columns]
    extra = [lang for lang in languages if lang != "en"]
    for kind, key in (("area", "area_id"), ("dimension", "dimension")):
        if key not in columns or not extra:
            continue
        i = columns.index(key)
        for lang in extra:
            cols.append(
                {
                    "name": f"{kind}_label_{lang}",
                    "type": "text",
                    "description": f"The {kind}'s label in {lang} (dbt/seeds/{LABELS_SEED}).",
                    "unit": None,
                }
            )
        rows = [(*r, *(label_map.get((kind, r[i], lang)) for lang in extra)) for r in rows]
    withheld = snap.withheld(q, interval, scope) if pub.suppress else 0
    return Table(pub.table, pub.description, cols, rows, withheld)


def provenance(
    snap: Snapshot,
    record: PublicationRecord,
    interval: Interval,
    scope: Scope,
    tables: list[Table],
    license_spec: LicenseSpec,
) -> dict:
    k = load_settings().min_cell_size
    caveats = snap.coverage_caveats(interval, scope)
    return {
        "licenses": [license_spec.model_dump()],
        "sources": [{"title": t} for t in SOURCE_TITLES.values()],
        "created": record.gate_finished_at.isoformat().replace("+00:00", "Z"),
        "x_interval": {"start": interval.start.isoformat(), "end": interval.end.isoformat()},
        "x_scope": {"countries": list(scope.countries), "cities": list(scope.cities)},
        "x_publication": {
            "gate_run_id": record.gate_run_id,
            "gate_finished_at": record.gate_finished_at.isoformat().replace("+00:00", "Z"),
            "schema": "published",
        },
        "x_model_versions": snap.model_versions(),
        "x_suppression": {
            "k": k,
            "rule": "a cell with fewer than k posts is withheld (docs/privacy.md)",
            "withheld_cells": {t.name: t.withheld for t in tables},
            "withheld_total": sum(t.withheld for t in tables),
        },
        "x_coverage": caveats,
    }


def readme(sub: Subscriber, interval: Interval, descriptor: dict, tables: list[Table]) -> str:
    pub = descriptor["x_publication"]
    sup = descriptor["x_suppression"]
    lines = [
        f"# {sub.title}",
        "",
        f"Subscriber `{sub.name}`, data interval {interval.start} to {interval.end} "
        "(end excluded), from the European Monitor on Urban Integration.",
        "",
        f"Published by quality gate run `{pub['gate_run_id']}` ({pub['gate_finished_at']}); "
        f"licence {descriptor['licenses'][0]['title']}.",
        "",
        "## Tables",
        "",
    ]
    for t in tables:
        lines.append(
            f"- `{t.name}`: {len(t.rows)} rows, {t.withheld} cells withheld. {t.description}"
        )
    lines += [
        "",
        "## Privacy",
        "",
        f"Cells with fewer than k = {sup['k']} posts are withheld ({sup['withheld_total']} in "
        "this package); post-level data is never extracted.",
        "",
        "## Coverage caveats",
        "",
    ]
    cov = descriptor["x_coverage"]
    if not cov:
        lines.append("No source coverage is published for this scope and interval.")
    for c in cov:
        marks = ", ".join(c["caveats"]) or "none"
        lines.append(f"- {c['source']} ({c['platform']}): {c['posts']} posts; caveats: {marks}")
    lines += [
        "",
        "## Files",
        "",
        "`datapackage.json` (Frictionless) describes every table and column, the classifier "
        "versions and the suppression. Check the files with `sha256sum -c SHA256SUMS`.",
        "",
    ]
    return "\n".join(lines)


def extract_package(
    snap: Snapshot, sub: Subscriber, interval: Interval, license_spec: LicenseSpec
) -> tuple[Package, PublicationRecord]:
    record = snap.publication()
    pubs = {p.table: p for p in publications()}
    scope = snap.resolve_scope(sub.scope.countries, sub.scope.cities)
    label_map = labels()
    tables = [
        read_table(snap, pubs[c.table], c, interval, scope, sub.languages, label_map)
        for c in sub.contents
    ]
    descriptor = provenance(snap, record, interval, scope, tables, license_spec)
    descriptor["description"] = (
        f"{sub.title}: {', '.join(t.name for t in tables)} for {interval.start} to "
        f"{interval.end} (end excluded)."
    )
    pkg = Package(
        name=package_name(sub, interval),
        title=sub.title,
        descriptor=descriptor,
        readme=readme(sub, interval, descriptor, tables),
        tables=tables,
        formats=list(sub.formats),
    )
    return pkg, record


def stamp(record: PublicationRecord) -> datetime:
    """The one time a package may carry: its publication's."""
    return record.gate_finished_at
