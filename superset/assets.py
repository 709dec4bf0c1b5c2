"""Superset's export format built from superset/dashboards.yml and the dbt manifest.

One builder for every dataset, chart and dashboard: `build_assets` returns the files of an
import bundle (path -> parsed YAML) that `superset/bootstrap.py` zips and imports. Datasets come
from the published dbt models (`core.publications`): their tables, columns and descriptions are
the manifest's, their metrics the spec's. Uuids are derived from names (uuid5), so a rebuild
gives the same uuids and a re-import updates the same rows.

Only PyYAML and the standard library are used, so the main virtualenv's tests can build a bundle
without Superset.
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the Superset virtualenv does not install the project
    sys.path.insert(0, str(REPO))
from core.publications import Publication  # noqa: E402

SPEC_PATH = REPO / "superset" / "dashboards.yml"
NAMESPACE = uuid.UUID("5b1f0e9c-4f7e-4c55-9a59-1d3c0e6f2a71")
DATABASES = {"warehouse": "warehouse", "warehouse_detail": "warehouse_detail"}
TEMPORAL_TYPES = ("DATE", "TIMESTAMP", "TIME")
TEMPORAL_NAMES = {"day", "week", "month", "period_start", "period_end", "event_date", "year_start"}
VIZ = {
    "line": "echarts_timeseries_line",
    "bar": "echarts_timeseries_bar",
    "bar_time": "echarts_timeseries_bar",
    "table": "table",
    "heatmap": "heatmap_v2",
    "bubble": "bubble_v2",
    "big_number": "big_number_total",
}
GRAIN_NAMES = {"P1D": "daily", "P1W": "weekly", "P1M": "monthly", "P1Y": "yearly"}


class SpecError(ValueError):
    """superset/dashboards.yml refers to something that does not exist."""


def asset_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    uuid: str
    database: str
    schema: str
    table: str
    time: str | None
    columns: tuple[str, ...]
    metrics: tuple[str, ...]


def _is_temporal(name: str, type_name: str | None) -> bool:
    if type_name:
        return type_name.upper().startswith(TEMPORAL_TYPES)
    return name in TEMPORAL_NAMES or name.endswith("_at")


def _column(name: str, description: str, label: str | None, type_name: str | None) -> dict:
    return {
        "column_name": name,
        "verbose_name": label or name.replace("_", " ").capitalize(),
        "description": description or None,
        "type": type_name,
        "is_dttm": _is_temporal(name, type_name),
        "is_active": True,
        "groupby": True,
        "filterable": True,
        "expression": None,
        "python_date_format": None,
        "advanced_data_type": None,
        "extra": None,
    }


def _metric(m: dict[str, Any]) -> dict:
    return {
        "metric_name": m["name"],
        "verbose_name": m.get("label") or m["name"],
        "metric_type": None,
        "expression": m["expression"],
        "description": m.get("description"),
        "d3format": m.get("format"),
        "currency": None,
        "extra": None,
        "warning_text": None,
    }


def _dataset_file(
    key: str,
    database_uuid: str,
    schema: str,
    table: str,
    description: str | None,
    columns: list[dict],
    metrics: list[dict],
    time: str | None,
    sql: str | None = None,
) -> dict:
    return {
        "table_name": table,
        "schema": schema,
        "catalog": None,
        "main_dttm_col": time,
        "description": description,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "sql": sql,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": asset_uuid("dataset", key),
        "database_uuid": database_uuid,
        "version": "1.0.0",
        "metrics": metrics,
        "columns": columns,
    }


def build_datasets(
    spec: dict[str, Any],
    publications: dict[str, Publication],
    column_types: dict[tuple[str, str], list[tuple[str, str]]],
) -> tuple[dict[str, dict], dict[str, DatasetInfo]]:
    """Dataset files for every table published to BI, plus the spec's extra datasets.

    `column_types` maps (schema, table or dataset key) to the warehouse's columns and types, as
    far as the bootstrap could read them; a model's columns come from the manifest regardless.
    """
    files: dict[str, dict] = {}
    infos: dict[str, DatasetInfo] = {}
    declared = spec.get("datasets") or {}
    bi = {name: pub for name, pub in publications.items() if pub.bi}
    missing = sorted(set(bi) - set(declared))
    if missing:
        raise SpecError(f"published to BI but not in {SPEC_PATH.name} datasets: {missing}")
    unknown = sorted(set(declared) - set(bi))
    if unknown:
        raise SpecError(f"{SPEC_PATH.name} datasets not published to BI: {unknown}")

    def add(key, database, schema, table, description, columns, entry, sql=None):
        db_uuid = asset_uuid("database", database)
        metrics = [_metric(m) for m in entry.get("metrics") or []]
        time = entry.get("time")
        names = [c["column_name"] for c in columns]
        if time is not None and time not in names and columns:
            raise SpecError(f"dataset {key}: time column {time!r} not among {names}")
        files[f"datasets/{database}/{key}.yaml"] = _dataset_file(
            key, db_uuid, schema, table, description, columns, metrics, time, sql
        )
        infos[key] = DatasetInfo(
            key, asset_uuid("dataset", key), database, schema, table, time,
            tuple(names), tuple(m["metric_name"] for m in metrics),
        )  # fmt: skip

    for name in sorted(bi):
        pub, entry = bi[name], declared[name] or {}
        types = dict(column_types.get(("published", name), []))
        columns = [
            _column(c.name, c.description, c.meta.get("label"), types.get(c.name) or c.data_type)
            for c in pub.columns
        ]
        add(name, "warehouse", "published", name, pub.description, columns, entry)

    for key, entry in (spec.get("extra_datasets") or {}).items():
        database = entry.get("database", "warehouse")
        schema = entry["schema"]
        model = publications.get(entry.get("model", ""))
        docs = {c.name: c for c in model.columns} if model else {}
        found = list((entry.get("columns") or {}).items())
        if model:
            types = dict(column_types.get((schema, model.table), []))
            found = [(c.name, types.get(c.name) or c.data_type) for c in model.columns]
        columns = [
            _column(
                n,
                docs[n].description if n in docs else "",
                docs[n].meta.get("label") if n in docs else None,
                t,
            )
            for n, t in found
        ]
        description = entry.get("description") or (model.description if model else None)
        add(key, database, schema, key, description, columns, entry, entry.get("sql"))
    return files, infos


# --- charts ---


def _temporal_filter(time: str | None) -> list[dict]:
    if time is None:
        return []
    return [
        {
            "clause": "WHERE",
            "comparator": "No filter",
            "expressionType": "SIMPLE",
            "operator": "TEMPORAL_RANGE",
            "subject": time,
        }
    ]


def _query_filters(time: str | None) -> list[dict]:
    return [] if time is None else [{"col": time, "op": "TEMPORAL_RANGE", "val": "No filter"}]


def _axis(column: str, grain: str) -> dict:
    return {
        "timeGrain": grain,
        "columnType": "BASE_AXIS",
        "sqlExpression": column,
        "label": column,
        "expressionType": "SQL",
    }


def chart_query(chart: dict[str, Any], ds: DatasetInfo) -> dict[str, Any]:
    """The query the chart data API runs (the saved query_context): plain aggregations."""
    kind = chart["kind"]
    metrics: list[str] | None = list(chart.get("metrics") or [])
    columns: list[Any]
    orderby: list[list[Any]] = [[metrics[0], False]] if metrics else []
    if kind in ("line", "bar_time"):
        columns = [_axis(chart["x"], chart["grain"]), *chart.get("groupby", [])]
        orderby = [[metrics[0], False]]
    elif kind == "bar":
        columns = [chart["x"], *chart.get("groupby", [])]
    elif kind == "heatmap":
        columns = [chart["x"], chart["y"]]
    elif kind == "bubble":
        metrics = [chart["x_metric"], chart["y_metric"], chart["size_metric"]]
        columns = [chart["entity"], chart["series"]]
        orderby = [[chart["size_metric"], False]]
    elif kind == "table" and chart.get("columns"):
        # Raw rows: no metrics at all (an empty list would GROUP BY the columns).
        columns, metrics = list(chart["columns"]), None
        orderby = [list(o) for o in chart.get("orderby") or []]
    elif kind == "table":
        columns = list(chart.get("groupby") or [])
    elif kind == "big_number":
        columns, orderby = [], []
    else:
        raise SpecError(f"chart {chart['key']}: unknown kind {kind!r}")
    query = {
        "filters": _query_filters(ds.time),
        "extras": {"having": "", "where": chart.get("where", "")},
        "applied_time_extras": {},
        "columns": columns,
        "metrics": metrics,
        "orderby": orderby,
        "annotation_layers": [],
        "row_limit": chart.get("row_limit", 10000),
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }
    return {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "result_format": "json",
        "result_type": "full",
    }


def chart_params(chart: dict[str, Any], ds: DatasetInfo) -> dict[str, Any]:
    """The form data the front end renders from (and builds its own query with)."""
    kind = chart["kind"]
    viz = VIZ[kind]
    adhoc = _temporal_filter(ds.time)
    if chart.get("where"):
        adhoc.append({"clause": "WHERE", "expressionType": "SQL", "sqlExpression": chart["where"]})
    p: dict[str, Any] = {
        "datasource": "0__table",
        "viz_type": viz,
        "adhoc_filters": adhoc,
        "time_range": "No filter",
        "extra_form_data": {},
        "annotation_layers": [],
        "color_scheme": "supersetColors",
        "dashboards": [],
        "row_limit": chart.get("row_limit", 10000),
    }
    metrics = list(chart.get("metrics") or [])
    if kind in ("line", "bar_time", "bar"):
        p.update(
            x_axis=chart["x"],
            metrics=metrics,
            groupby=list(chart.get("groupby") or []),
            show_legend=bool(chart.get("groupby")) or len(metrics) > 1,
            legendOrientation="top",
            legendType="scroll",
            rich_tooltip=True,
            truncate_metric=True,
            y_axis_format=_format_of(chart, ds),
            order_desc=True,
            comparison_type="values",
        )
        if chart.get("series_limit"):
            p.update(limit=chart["series_limit"], timeseries_limit_metric=metrics[0])
        if kind == "bar":
            p.update(
                orientation="horizontal",
                x_axis_sort=metrics[0],
                x_axis_sort_asc=False,
                x_axis_sort_series="sum",
                x_axis_sort_series_ascending=False,
                show_value=len(metrics) == 1,
            )
        else:
            p.update(time_grain_sqla=chart["grain"], x_axis_time_format="smart_date")
        if kind == "line":
            p.update(seriesType="line", markerEnabled=True, markerSize=4)
        if chart.get("stack") or kind == "bar_time":
            p.update(stack="Stack")
    elif kind == "heatmap":
        p.update(
            x_axis=chart["x"],
            groupby=chart["y"],
            metric=metrics[0],
            linear_color_scheme="blue_white_yellow",
            normalize_across="heatmap",
            legend_type="continuous",
            show_legend=True,
            show_values=False,
            sort_x_axis="alpha_asc",
            sort_y_axis="alpha_asc",
            y_axis_format=_format_of(chart, ds),
            xscale_interval=-1,
            yscale_interval=-1,
        )
    elif kind == "bubble":
        p.update(
            entity=chart["entity"],
            series=chart["series"],
            x=chart["x_metric"],
            y=chart["y_metric"],
            size=chart["size_metric"],
            max_bubble_size="25",
            show_legend=True,
            x_axis_label=chart["x_metric"],
            y_axis_label=chart["y_metric"],
            x_axis_format="SMART_NUMBER",
            y_axis_format=".1%",
        )
    elif kind == "table":
        p.update(show_cell_bars=True, color_pn=True, include_search=False, server_page_length=10)
        p["table_timestamp_format"] = "%Y-%m-%d"
        if chart.get("columns"):
            p.update(
                query_mode="raw",
                all_columns=list(chart["columns"]),
                order_by_cols=[json.dumps(list(o)) for o in chart.get("orderby") or []],
                groupby=[],
                metrics=[],
                percent_metrics=[],
            )
        else:
            p.update(
                query_mode="aggregate",
                groupby=list(chart.get("groupby") or []),
                metrics=metrics,
                all_columns=[],
                percent_metrics=[],
                timeseries_limit_metric=metrics[0],
                order_desc=True,
            )
    elif kind == "big_number":
        p.update(metric=metrics[0], subheader="", y_axis_format="SMART_NUMBER")
    return p


def _format_of(chart: dict[str, Any], ds: DatasetInfo) -> str:
    return chart.get("format") or "SMART_NUMBER"


def _check_chart(chart: dict[str, Any], ds: DatasetInfo) -> None:
    wanted_cols = [
        chart.get(k) for k in ("x", "y", "entity", "series") if isinstance(chart.get(k), str)
    ]
    wanted_cols += list(chart.get("groupby") or []) + list(chart.get("columns") or [])
    bad = [c for c in wanted_cols if ds.columns and c not in ds.columns]
    metric_keys = list(chart.get("metrics") or []) + [
        chart[k] for k in ("x_metric", "y_metric", "size_metric") if k in chart
    ]
    bad += [m for m in metric_keys if m not in ds.metrics]
    if bad:
        raise SpecError(f"chart {chart['key']} on {ds.key}: unknown columns or metrics {bad}")


def chart_file(chart: dict[str, Any], ds: DatasetInfo, slug: str) -> dict[str, Any]:
    _check_chart(chart, ds)
    return {
        "slice_name": chart["title"],
        "description": chart.get("description"),
        "certified_by": None,
        "certification_details": None,
        "viz_type": VIZ[chart["kind"]],
        "params": chart_params(chart, ds),
        "query_context": json.dumps(chart_query(chart, ds), indent=2),
        "cache_timeout": None,
        "uuid": asset_uuid("chart", f"{slug}/{chart['key']}"),
        "version": "1.0.0",
        "dataset_uuid": ds.uuid,
    }


# --- dashboards ---


def _markdown(key: str, text: str, width: int = 12, height: int = 14) -> dict:
    return {
        "id": key,
        "type": "MARKDOWN",
        "children": [],
        "meta": {"code": text, "width": width, "height": height},
    }


def _native_filter(
    key: str, spec: dict[str, Any], target: DatasetInfo | None, excluded: list[int]
) -> dict:
    base = {
        "id": f"NATIVE_FILTER-{key}",
        "name": spec["name"],
        "type": "NATIVE_FILTER",
        "description": spec.get("description", ""),
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
    }
    if spec.get("type") == "time":
        base.update(filterType="filter_time", targets=[{}], controlValues={})
        return base
    assert target is not None
    base.update(
        filterType="filter_select",
        targets=[{"datasetUuid": target.uuid, "column": {"name": spec["column"]}}],
        controlValues={
            "enableEmptyFilter": False,
            "defaultToFirstItem": False,
            "multiSelect": True,
            "searchAllOptions": False,
            "inverseSelection": False,
        },
    )
    return base


def dashboard_files(
    dash: dict[str, Any],
    spec: dict[str, Any],
    datasets: dict[str, DatasetInfo],
    k: int,
) -> dict[str, dict]:
    slug = dash["slug"]
    shared = spec.get("shared_charts") or {}
    files: dict[str, dict] = {}
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dash["title"]}},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "children": [], "parents": ["ROOT_ID"]},
    }
    charts: list[tuple[int, dict, DatasetInfo]] = []
    intro = (
        f"**{dash['title']}.** {dash.get('intro', '').strip()}\n\n"
        f"*Small cells are withheld:* a published cell has at least **k = {k}** posts; cells "
        f"with fewer are not shown, so sums here can be below the full totals (see the "
        f"withheld chart). Demo data is synthetic."
    )
    rows = [["__intro__"], *dash["rows"]]
    for r, row in enumerate(rows):
        row_id = f"ROW-{r}"
        position["GRID_ID"]["children"].append(row_id)
        children = []
        for item in row:
            if item == "__intro__":
                md = _markdown("MARKDOWN-intro", intro)
                md["parents"] = ["ROOT_ID", "GRID_ID", row_id]
                position[md["id"]] = md
                children.append(md["id"])
                continue
            chart = dict(shared[item], key=item) if isinstance(item, str) else dict(item)
            chart["title"] = chart["title"].format(k=k)
            ds = datasets.get(chart["dataset"])
            if ds is None:
                raise SpecError(f"{slug}/{chart['key']}: unknown dataset {chart['dataset']!r}")
            cf = chart_file(chart, ds, slug)
            files[f"charts/{slug}__{chart['key']}.yaml"] = cf
            chart_id = len(charts) + 1
            charts.append((chart_id, chart, ds))
            cid = f"CHART-{chart['key']}"
            position[cid] = {
                "id": cid,
                "type": "CHART",
                "children": [],
                "meta": {
                    "chartId": chart_id,
                    "uuid": cf["uuid"],
                    "sliceName": cf["slice_name"],
                    "width": chart.get("width", 6),
                    "height": chart.get("height", 50),
                },
                "parents": ["ROOT_ID", "GRID_ID", row_id],
            }
            children.append(cid)
        position[row_id] = {
            "id": row_id,
            "type": "ROW",
            "children": children,
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
            "parents": ["ROOT_ID", "GRID_ID"],
        }
    filters = []
    for fkey in dash.get("filters") or []:
        fspec = spec["filters"][fkey]
        if fspec.get("type") == "time":
            applies = [(cid, ds) for cid, _, ds in charts if ds.time]
        else:
            applies = [(cid, ds) for cid, _, ds in charts if fspec["column"] in ds.columns]
        if not applies:
            raise SpecError(f"{slug}: filter {fkey} applies to no chart")
        excluded = [cid for cid, _, _ in charts if cid not in {a for a, _ in applies}]
        filters.append(_native_filter(fkey, fspec, applies[0][1], excluded))
    files[f"dashboards/{slug}.yaml"] = {
        "dashboard_title": dash["title"],
        "description": None,
        "css": "",
        "slug": slug,
        "published": True,
        "certified_by": "",
        "certification_details": "",
        "uuid": asset_uuid("dashboard", slug),
        "version": "1.0.0",
        "position": position,
        "metadata": {
            "color_scheme": "supersetColors",
            "cross_filters_enabled": True,
            "global_chart_configuration": {
                "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
                "chartsInScope": [],
            },
            "chart_configuration": {},
            "expanded_slices": {},
            "label_colors": {},
            "shared_label_colors": [],
            "map_label_colors": {},
            "color_scheme_domain": [],
            "refresh_frequency": 0,
            "timed_refresh_immune_slices": [],
            "default_filters": "{}",
            "native_filter_configuration": filters,
        },
    }
    return files


def database_file(name: str, uri: str) -> dict[str, Any]:
    return {
        "database_name": name,
        "sqlalchemy_uri": uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "impersonate_user": False,
        "extra": {
            "allows_virtual_table_explore": True,
            "metadata_params": {},
            "engine_params": {},
            "schemas_allowed_for_file_upload": [],
        },
        "uuid": asset_uuid("database", name),
        "version": "1.0.0",
    }


def build_assets(
    publications: dict[str, Publication],
    uris: dict[str, str],
    k: int,
    column_types: dict[tuple[str, str], list[tuple[str, str]]] | None = None,
    spec: dict[str, Any] | None = None,
) -> dict[str, dict]:
    """Every file of the bundle but metadata.yaml: databases, datasets, charts, dashboards."""
    spec = spec or load_spec()
    files = {f"databases/{name}.yaml": database_file(name, uri) for name, uri in uris.items()}
    ds_files, infos = build_datasets(spec, publications, column_types or {})
    for path, config in ds_files.items():
        if path.split("/")[1] in uris:
            files[path] = config
    infos = {k_: i for k_, i in infos.items() if i.database in uris}
    for dash in spec["dashboards"]:
        if any(_datasets_of(dash, spec) - set(infos)):
            continue  # e.g. the detail dashboard without a detail connection
        files.update(dashboard_files(dash, spec, infos, k))
    return files


def _datasets_of(dash: dict[str, Any], spec: dict[str, Any]) -> set[str]:
    shared = spec.get("shared_charts") or {}
    return {
        (shared[item] if isinstance(item, str) else item)["dataset"]
        for row in dash["rows"]
        for item in row
    }


def audiences(spec: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Dashboard slug -> the role names (or the prefix `Ministry`) that may open it."""
    spec = spec or load_spec()
    return {d["slug"]: list(spec["audiences"][d["audience"]]) for d in spec["dashboards"]}
