"""Alert digests: the new spikes of the focal-point mart in a subscriber's cities and areas.

A digest covers a day or a week. It names every spike of `published.mart_focal_points` in the
subscriber's scope whose day falls in the period (or in the `lookback_days` before it, for a
spike published late) and that no earlier digest reported to that subscriber
(`extracts.reported_spikes`): its size against the trailing baseline, its driving terms and a
link to the Superset dashboard filtered to its city and days. A period without new spikes sends
nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from core.settings import load_settings
from extracts.build import provenance
from extracts.config import License as LicenseSpec
from extracts.config import Subscriber, publications
from extracts.package import Package, Table
from extracts.periods import Interval
from extracts.read import PublicationRecord, Query, Snapshot

DASHBOARD_SLUG = "trends"  # the focal points (superset/dashboards.yml)
COLUMNS = (
    "city_code",
    "city_name",
    "country_code",
    "area_id",
    "area_label",
    "day",
    "posts",
    "baseline_median",
    "baseline_mad",
    "robust_z",
    "driving_terms",
)


def _rison_str(value: str) -> str:
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def _select(key: str, column: str, value: str) -> str:
    v = _rison_str(value)
    return (
        f"NATIVE_FILTER-{key}:(extraFormData:(filters:!((col:{column},op:IN,val:!({v})))),"
        f"filterState:(value:!({v})),id:NATIVE_FILTER-{key},ownState:())"
    )


def dashboard_url(city_name: str, area_label: str, day: date, *, base: str | None = None) -> str:
    """The focal-points dashboard with its native filters set to the spike's city, area and
    the week up to it (filter keys of superset/dashboards.yml)."""
    base = base or load_settings().superset_url
    span = _rison_str(f"{(day - timedelta(days=6)).isoformat()} : {(day + timedelta(days=1))}")
    filters = (
        f"({_select('city', 'city_name', city_name)},"
        f"{_select('area', 'area_label', area_label)},"
        f"NATIVE_FILTER-period:(extraFormData:(time_range:{span}),"
        f"filterState:(value:{span}),id:NATIVE_FILTER-period,ownState:()))"
    )
    return (
        f"{base}/superset/dashboard/{DASHBOARD_SLUG}/?native_filters={quote(filters, safe='()!:,')}"
    )


def spike_key(row: tuple) -> tuple[str, str, date]:
    return row[0], row[3], row[5]


def new_spikes(
    snap: Snapshot, sub: Subscriber, interval: Interval, reported: set[tuple]
) -> tuple[list[tuple], object]:
    scope = snap.resolve_scope(sub.scope.countries, sub.scope.cities)
    filters = {"area_id": list(sub.scope.areas)} if sub.scope.areas else {}
    q = Query("mart_focal_points", COLUMNS, "day", "city_code", filters)
    window = Interval(interval.start - timedelta(days=sub.lookback_days), interval.end)
    rows = [r for r in snap.rows(q, window, scope) if spike_key(r) not in reported]
    return rows, scope


def digest_text(sub: Subscriber, interval: Interval, rows: list[tuple]) -> str:
    lines = [
        f"# {sub.title}",
        "",
        f"{len(rows)} new spike(s) for {interval.start} to {interval.end} (end excluded).",
        "",
    ]
    for r in rows:
        city_code, city, _country, _area, area_label, day, posts, median, _mad, z, terms = r
        ratio = f"{posts / median:.1f}x" if median else "no baseline posts"
        lines += [
            f"## {city} ({city_code}), {area_label}, {day}",
            "",
            f"- {posts} posts against a baseline median of {median:g} a day ({ratio}; "
            f"robust z = {z:.1f})",
            f"- driving terms: {', '.join(terms or []) or 'none recorded'}",
            f"- dashboard: {dashboard_url(city, area_label, day)}",
            "",
        ]
    return "\n".join(lines)


def digest_package(
    snap: Snapshot,
    sub: Subscriber,
    interval: Interval,
    license_spec: LicenseSpec,
    reported: set[tuple],
) -> tuple[Package | None, PublicationRecord, list[tuple]]:
    record = snap.publication()
    rows, scope = new_spikes(snap, sub, interval, reported)
    if not rows:
        return None, record, []
    pub = next(p for p in publications() if p.table == "mart_focal_points")
    types = snap.column_types(pub.table)
    cols = [
        {
            "name": c,
            "type": types[c],
            "description": pub.column(c).description,
            "unit": pub.column(c).meta.get("unit"),
        }
        for c in COLUMNS
    ]
    cols.append(
        {
            "name": "dashboard_url",
            "type": "text",
            "description": "The Superset dashboard filtered to the spike's city, area and week.",
            "unit": None,
        }
    )
    table_rows = [(*r, dashboard_url(r[1], r[4], r[5])) for r in rows]
    table = Table("spikes", pub.description, cols, table_rows)
    descriptor = provenance(snap, record, interval, scope, [], license_spec)
    descriptor["description"] = f"{sub.title}: {len(rows)} new spike(s)."
    text = digest_text(sub, interval, rows)
    pkg = Package(
        name=f"{sub.name}_{interval.start.isoformat()}_{interval.end.isoformat()}",
        title=sub.title,
        descriptor=descriptor,
        readme=text,
        tables=[table],
        formats=["csv"],
    )
    return pkg, record, [spike_key(r) for r in rows]
