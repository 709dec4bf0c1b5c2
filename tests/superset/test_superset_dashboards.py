"""The Superset dashboards end to end: real pipeline, real PostgreSQL, real Superset, Chromium.

A fresh warehouse is filled by the real pipeline (generated posts -> raw -> classifiers -> dbt ->
gate -> publish, k = 5 so that suppression withholds cells and the charts keep data); Superset
(``.venv-superset``) is bootstrapped twice into a temporary home (the second run must change
nothing), served by gunicorn on a free loopback port, and then:

- every chart's data API answers without error and with rows; the ratio metrics equal the same
  figure computed in SQL on the mart (a share over a week or a month is SUM(part)/SUM(whole),
  a mean sentiment is weighted by posts);
- a ministry login sees only its country's rows through the chart data API (row-level security);
- the detail role reads keyword contexts, the analyst does not;
- the analyst saves a chart through the API, runs SQL Lab on `published` and cannot on raw, ml
  or published_detail; the NGO login cannot save or run SQL;
- every dashboard renders in headless Chromium with no chart in error;
- failed logins, through the REST API and the form, are answered with HTTP 429 past the limit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.util
import json
import math
import re
import secrets
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml

from core.db import PgParams, drop_database, ensure_database
from core.publications import load_publications
from demo.generate import write_official_statistics, write_posts
from monitor import superset_service
from monitor.pipeline import run_all
from tests.conftest import TEST_LOGIN_PASSWORD, TEST_PEPPER, set_test_passwords

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)
K = 5
# The login rate limit of the server under test: above what the tests' own logins take in one
# window, so only the rate-limit test, which runs last, reaches it.
AUTH_LIMIT, AUTH_WINDOW_S = 20, 40
PUBLIC_SLUGS = [
    "urban-integration",
    "trends",
    "cities",
    "reactions",
    "keywords",
    "sources",
    "labour-migration",
]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


assets = _load("superset_assets_under_test", REPO / "superset" / "assets.py")


def query(dsn: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.close()
    return rows


# --- the bundle, without Superset ---


def _bundle_files() -> dict[str, dict]:
    pubs = {p.table: p for p in load_publications()}
    uris = {"warehouse": "postgresql+psycopg2://monitor_bi@/m?host=/x", "warehouse_detail": "x"}
    return assets.build_assets(pubs, uris, k=7)


def test_every_published_table_is_a_dataset_documented_from_dbt():
    files = _bundle_files()
    datasets = {c["table_name"]: c for p, c in files.items() if p.startswith("datasets/")}
    for pub in load_publications():
        if not pub.bi:
            continue
        ds = datasets[pub.table]
        assert ds["schema"] == "published"
        assert ds["description"] == pub.description
        cols = {c["column_name"]: c for c in ds["columns"]}
        assert list(cols) == [c.name for c in pub.columns]
        for col in pub.columns:
            assert cols[col.name]["description"] == (col.description or None), col.name
    detail = datasets["fct_keyword_contexts"]
    assert detail["schema"] == "published_detail"
    assert "context" in {c["column_name"] for c in detail["columns"]}
    # Uuids are derived from names: two builds are identical and no uuid repeats.
    again = _bundle_files()
    assert again == files
    uuids = [c["uuid"] for c in files.values()]
    assert len(uuids) == len(set(uuids))


def test_ratio_metrics_are_ratios_of_sums():
    files = _bundle_files()
    for path, ds in files.items():
        if not path.startswith("datasets/"):
            continue
        for m in ds["metrics"]:
            expr = m["expression"].upper()
            assert "AVG(" not in expr or ds["table_name"] in ("gate_runs", "check_results"), (
                f"{ds['table_name']}.{m['metric_name']}: an average of cells' ratios"
            )
            if "SHARE" in m["metric_name"].upper() and ds["table_name"].startswith("mart_"):
                assert "/ NULLIF(SUM(" in expr or expr.startswith("MAX("), m


def test_dashboards_state_k_and_have_filters():
    files = _bundle_files()
    dashboards = {c["slug"]: c for p, c in files.items() if p.startswith("dashboards/")}
    assert set(dashboards) >= {*PUBLIC_SLUGS, "data-quality", "keywords-in-context"}
    for slug, dash in dashboards.items():
        intro = dash["position"]["MARKDOWN-intro"]["meta"]["code"]
        assert "k = 7" in intro, slug
        assert dash["metadata"]["native_filter_configuration"], slug
        assert dash["metadata"]["cross_filters_enabled"] is True
    names = {
        f["name"]
        for f in dashboards["urban-integration"]["metadata"]["native_filter_configuration"]
    }
    assert names == {"Period", "Country", "City", "Integration area", "Dimension"}
    names = {f["name"] for f in dashboards["sources"]["metadata"]["native_filter_configuration"]}
    assert names == {"Period", "Source", "Platform", "Language"}
    # A compact caveat and withheld chart on every public dashboard but the sources' own.
    for slug in set(PUBLIC_SLUGS) - {"sources", "labour-migration"}:
        chart_ids = {
            v["meta"]["sliceName"] for v in dashboards[slug]["position"].values()
            if isinstance(v, dict) and v.get("type") == "CHART"
        }  # fmt: skip
        assert "Coverage caveats" in chart_ids, slug
        assert "Withheld by suppression (k = 7)" in chart_ids, slug


# --- the warehouse and Superset ---


@pytest.fixture(scope="module")
def warehouse(pg_admin_url, tmp_path_factory) -> Iterator[dict[str, str]]:
    name = "monitor_sstest_" + secrets.token_hex(4)
    url = ensure_database(pg_admin_url, name)
    try:
        imports = tmp_path_factory.mktemp("imports")
        (imports / "posts").mkdir()
        (imports / "statistics").mkdir()
        write_posts(imports / "posts" / "demo.ndjson", 10_000, seed=11)
        write_official_statistics(imports / "statistics" / "stats.csv", seed=11)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MONITOR_MIN_CELL_SIZE", str(K))
            run_all(url, imports, pepper=TEST_PEPPER)
        set_test_passwords(url)
        params = PgParams.from_url(url)
        login = dict(password=TEST_LOGIN_PASSWORD, driver="psycopg2")
        yield {
            "dsn": url,
            "bi": params.url(user="monitor_bi", **login),
            "detail": params.url(user="monitor_detail", **login),
        }
    finally:
        drop_database(pg_admin_url, name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _metadata_snapshot(home: Path) -> dict[str, list]:
    queries = {
        "databases": "SELECT id, uuid, database_name, sqlalchemy_uri FROM dbs ORDER BY id",
        "datasets": "SELECT id, uuid, schema, table_name, database_id, sql FROM tables ORDER BY id",
        "columns": "SELECT id, table_id, column_name, type, is_dttm, description "
        "FROM table_columns ORDER BY 1",
        "metrics": "SELECT id, table_id, metric_name, expression FROM sql_metrics ORDER BY 1",
        "charts": "SELECT id, uuid, slice_name, viz_type, datasource_id, params, query_context "
        "FROM slices ORDER BY id",
        "dashboards": "SELECT id, uuid, dashboard_title, slug, position_json, json_metadata "
        "FROM dashboards ORDER BY id",
        "dashboard_slices": "SELECT dashboard_id, slice_id FROM dashboard_slices ORDER BY 1, 2",
        "dashboard_roles": "SELECT dashboard_id, role_id FROM dashboard_roles ORDER BY 1, 2",
        "users": "SELECT id, username, active, password FROM ab_user ORDER BY id",
        "user_roles": "SELECT user_id, role_id FROM ab_user_role ORDER BY 1, 2",
        "roles": "SELECT id, name FROM ab_role ORDER BY id",
        "role_permissions": "SELECT role_id, permission_view_id FROM ab_permission_view_role "
        "ORDER BY 1, 2",
        "rls": "SELECT id, name, filter_type, clause, group_key FROM row_level_security_filters "
        "ORDER BY id",
        "rls_tables": "SELECT rls_filter_id, table_id FROM rls_filter_tables ORDER BY 1, 2",
        "rls_roles": "SELECT rls_filter_id, role_id FROM rls_filter_roles ORDER BY 1, 2",
    }
    conn = sqlite3.connect(home / "superset.db")
    try:
        return {key: conn.execute(sql).fetchall() for key, sql in queries.items()}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def superset(warehouse, tmp_path_factory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("superset_home")
    port = _free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPERSET_SECRET_KEY", secrets.token_urlsafe(48))
        mp.setenv("MONITOR_MIN_CELL_SIZE", str(K))
        mp.setenv("SUPERSET_AUTH_RATE_LIMIT", f"{AUTH_LIMIT} per {AUTH_WINDOW_S} second")
        run = dict(port=port, detail_uri=warehouse["detail"])
        summary = superset_service.bootstrap(home, warehouse["bi"], ADMIN_PASSWORD, **run)
        first = _metadata_snapshot(home)
        again = superset_service.bootstrap(home, warehouse["bi"], ADMIN_PASSWORD, **run)
        second = _metadata_snapshot(home)
        passwords = dict(
            line.split("=", 1)
            for line in (home / "passwords.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        proc = superset_service.start(home, port=port)
        url = f"http://127.0.0.1:{port}"
        try:
            superset_service.wait_until_healthy(url, timeout=180, proc=proc)
            yield {
                "url": url,
                "home": home,
                "first": first,
                "second": second,
                "summary": summary,
                "again": again,
                "passwords": passwords,
            }
        finally:
            superset_service.stop(proc)
            assert proc.poll() is not None


class Api:
    """A logged-in REST client (JWT + CSRF token, as the UI does)."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.session = requests.Session()
        resp = self.session.post(
            f"{base}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": True},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        self.session.headers["Authorization"] = "Bearer " + resp.json()["access_token"]
        resp = self.session.get(f"{base}/api/v1/security/csrf_token/", timeout=30)
        assert resp.status_code == 200, resp.text
        self.session.headers["X-CSRFToken"] = resp.json()["result"]
        self.session.headers["Referer"] = base

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base + path, timeout=120, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.base + path, timeout=120, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.session.put(self.base + path, timeout=120, **kwargs)


def login(superset, user: str) -> Api:
    if user == "admin":
        return Api(superset["url"], "admin", ADMIN_PASSWORD)
    return Api(superset["url"], user, superset["passwords"][user])


@pytest.fixture(scope="module")
def admin(superset) -> Api:
    return login(superset, "admin")


@pytest.fixture(scope="module")
def charts(admin) -> dict[str, dict]:
    resp = admin.get("/api/v1/chart/", params={"q": "(page_size:200)"})
    assert resp.status_code == 200, resp.text
    return {c["slice_name"]: c for c in resp.json()["result"]}


@pytest.fixture(scope="module")
def dashboards(admin) -> dict[str, dict]:
    resp = admin.get("/api/v1/dashboard/", params={"q": "(page_size:100)"})
    assert resp.status_code == 200, resp.text
    return {d["slug"]: d for d in resp.json()["result"]}


@pytest.fixture(scope="module")
def datasets(admin) -> dict[str, dict]:
    resp = admin.get("/api/v1/dataset/", params={"q": "(page_size:100)"})
    assert resp.status_code == 200, resp.text
    return {d["table_name"]: d for d in resp.json()["result"]}


def chart_rows(api: Api, chart_id: int) -> list[dict]:
    resp = api.get(f"/api/v1/chart/{chart_id}/data/")
    assert resp.status_code == 200, resp.text
    (result,) = resp.json()["result"]
    assert result["status"] == "success" and result["error"] is None, result
    return result["data"]


def data_query(api: Api, dataset_id: int, query: dict) -> list[dict]:
    body = {
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [{"row_limit": 100000, "filters": [], "extras": {}, **query}],
        "result_format": "json",
        "result_type": "full",
    }
    resp = api.post("/api/v1/chart/data", json=body)
    assert resp.status_code == 200, resp.text
    (result,) = resp.json()["result"]
    return result["data"]


def _ms(day: dt.date) -> int:
    return calendar.timegm(day.timetuple()) * 1000


def _close(a: dict, b: dict) -> None:
    assert set(a) == set(b), sorted(set(a) ^ set(b))[:10]
    for key in a:
        x, y = a[key], b[key]
        assert (x is None and y is None) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (
            key,
            x,
            y,
        )


# --- tests ---


@pytest.mark.slow
def test_bootstrap_is_idempotent(superset):
    first, second = superset["first"], superset["second"]
    assert len(first["databases"]) == 2
    assert len(first["dashboards"]) == len(PUBLIC_SLUGS) + 2
    assert {r[1] for r in first["roles"]} >= {
        "Analyst", "NGO", "Ministry DE", "Ministry SE", "Researcher", "Data engineer",
    }  # fmt: skip
    assert first["rls"], "no row-level security rule"
    assert {u[1] for u in first["users"]} >= {"admin", "analyst", "ministry_de", "researcher"}
    for key in first:
        assert second[key] == first[key], f"second bootstrap changed {key}"
    assert superset["again"]["access"]["rls"]["changed"] == 0
    assert not any(superset["again"]["access"]["roles_changed"].values())
    assert set(superset["again"]["access"]["users"].values()) == {"unchanged"}
    assert (superset["home"] / "passwords.env").stat().st_mode & 0o077 == 0


@pytest.mark.slow
def test_every_chart_answers_with_data(superset, warehouse, charts, dashboards):
    engineer = login(superset, "data_engineer")
    researcher = login(superset, "researcher")
    assert len(charts) >= 30
    # The demo's statistics have no Eurostat first-permit table (migr_resfirst): the labour
    # migration mart is empty on generated data, so its charts may be too - and only then.
    (permits,) = query(warehouse["dsn"], "SELECT count(*) FROM published.mart_labour_migration")[0]
    for slug, dash in dashboards.items():
        api = researcher if slug == "keywords-in-context" else engineer
        resp = api.get(f"/api/v1/dashboard/{dash['id']}/charts")
        assert resp.status_code == 200, (slug, resp.text)
        for chart in resp.json()["result"]:
            rows = chart_rows(api, chart["id"])
            if slug == "labour-migration" and not permits:
                assert rows == [], f"{chart['slice_name']!r}: rows from an empty mart"
                continue
            assert rows, f"{slug}: chart {chart['slice_name']!r} has no rows"


@pytest.mark.slow
def test_ratio_charts_equal_sql(warehouse, admin, charts, datasets):
    dsn = warehouse["dsn"]
    # Attention share per area and week = SUM(posts) / SUM(city_posts) of the week's cells.
    rows = chart_rows(admin, charts["Attention share per integration area (weekly)"]["id"])
    got = {(r["week"], r["area_label"]): r["attention_share"] for r in rows}
    expected = query(
        dsn,
        "SELECT week, area_label, SUM(posts)::float / SUM(city_posts) "
        "FROM published.mart_city_area_weekly GROUP BY 1, 2",
    )
    _close(got, {(_ms(w), a): v for w, a, v in expected})
    # Negative and hate shares per week, post-weighted.
    rows = chart_rows(admin, charts["Negative and hate-speech shares (weekly)"]["id"])
    expected = query(
        dsn,
        "SELECT week, SUM(negative_share * sentiment_posts) / SUM(sentiment_posts), "
        "SUM(hate_share * hate_classified_posts) / SUM(hate_classified_posts) "
        "FROM published.mart_city_area_weekly GROUP BY 1",
    )
    _close({r["week"]: r["negative_share"] for r in rows}, {_ms(w): n for w, n, _ in expected})
    _close({r["week"]: r["hate_share"] for r in rows}, {_ms(w): h for w, _, h in expected})
    # Mean sentiment per dimension and week, weighted by the sentiment-classified posts.
    rows = chart_rows(admin, charts["Mean sentiment per dimension (weekly)"]["id"])
    expected = query(
        dsn,
        "SELECT week, dimension, SUM(mean_sentiment * sentiment_posts) / SUM(sentiment_posts) "
        "FROM published.mart_city_area_weekly GROUP BY 1, 2",
    )
    _close(
        {(r["week"], r["dimension"]): r["mean_sentiment"] for r in rows},
        {(_ms(w), d): v for w, d, v in expected},
    )
    # Posts per 100k inhabitants per city and year.
    rows = chart_rows(admin, charts["Posts per 100k inhabitants"]["id"])
    expected = query(
        dsn,
        "SELECT city_name, SUM(posts) * 100000.0 / SUM(population) "
        "FROM published.mart_city_comparison WHERE period_type = 'year' GROUP BY 1",
    )
    _close(
        {r["city_name"]: r["posts_per_100k"] for r in rows},
        {c: float(v) if v is not None else None for c, v in expected},
    )
    # A share over a month from the daily mart: SUM/SUM over the month's days, which is not
    # the mean of the daily shares.
    ds = datasets["mart_city_area_daily"]["id"]
    axis = {
        "timeGrain": "P1M",
        "columnType": "BASE_AXIS",
        "sqlExpression": "day",
        "label": "day",
        "expressionType": "SQL",
    }
    rows = data_query(admin, ds, {"columns": [axis, "area_label"], "metrics": ["attention_share"]})
    expected = query(
        dsn,
        "SELECT date_trunc('month', day)::date, area_label, SUM(posts)::float / SUM(city_posts),"
        " AVG(attention_share) FROM published.mart_city_area_daily GROUP BY 1, 2",
    )
    got = {(r["day"], r["area_label"]): r["attention_share"] for r in rows}
    _close(got, {(_ms(m), a): v for m, a, v, _ in expected})
    assert any(not math.isclose(v, avg, rel_tol=1e-6) for _, _, v, avg in expected), (
        "the SUM/SUM check cannot tell it from an average of daily shares"
    )


@pytest.mark.slow
def test_withheld_cells_are_shown(warehouse, admin, charts):
    rows = chart_rows(admin, charts[f"Withheld by suppression per table (k = {K})"]["id"])
    by_table = {r["table_name"]: r for r in rows}
    (detail_cells,) = query(
        warehouse["dsn"], "SELECT count(*) FROM published_detail.mart_city_area_daily"
    )[0]
    (published_cells,) = query(
        warehouse["dsn"], "SELECT count(*) FROM published.mart_city_area_daily"
    )[0]
    daily = by_table["mart_city_area_daily"]
    assert daily["cells_withheld"] == detail_cells - published_cells > 0


@pytest.mark.slow
def test_ministry_sees_only_its_country(superset, warehouse, charts):
    api = login(superset, "ministry_de")
    rows = chart_rows(api, charts["Cities: discourse and official statistics"]["id"])
    assert rows and {r["country_code"] for r in rows} == {"DE"}
    expected = query(
        warehouse["dsn"],
        "SELECT city_name, SUM(posts) FROM published.mart_city_comparison "
        "WHERE period_type = 'year' AND country_code = 'DE' GROUP BY 1",
    )
    assert {r["city_name"]: r["posts"] for r in rows} == dict(expected)
    # A dataset with city codes only: the sources' posts of German cities.
    rows = chart_rows(api, charts["Sources"]["id"])
    expected = query(
        warehouse["dsn"],
        "SELECT source, SUM(posts) FROM published.mart_source_coverage "
        "WHERE left(city_code, 2) = 'DE' GROUP BY 1",
    )
    assert {r["source"]: r["posts"] for r in rows} == dict(expected)
    all_rows = chart_rows(login(superset, "analyst"), charts["Sources"]["id"])
    assert sum(r["posts"] for r in all_rows) > sum(r["posts"] for r in rows)


@pytest.mark.slow
def test_only_the_detail_role_reads_keyword_contexts(superset, charts, dashboards):
    chart_id = charts["Keyword-in-context samples"]["id"]
    rows = chart_rows(login(superset, "researcher"), chart_id)
    assert rows and all(r["context"] for r in rows)
    analyst = login(superset, "analyst")
    resp = analyst.get(f"/api/v1/chart/{chart_id}/data/")
    assert resp.status_code in (403, 404), resp.text
    resp = analyst.get(f"/api/v1/dashboard/{dashboards['keywords-in-context']['id']}")
    assert resp.status_code in (403, 404), resp.text


@pytest.mark.slow
def test_analyst_saves_charts_and_sql_lab_is_published_only(superset, datasets, dashboards):
    api = login(superset, "analyst")
    ds = datasets["mart_city_area_monthly"]["id"]
    params = {"viz_type": "table", "metrics": ["posts"], "groupby": ["city_name"]}
    resp = api.post(
        "/api/v1/chart/",
        json={
            "slice_name": "Analyst: posts per city",
            "viz_type": "table",
            "datasource_id": ds,
            "datasource_type": "table",
            "params": json.dumps(params),
        },
    )
    assert resp.status_code == 201, resp.text
    own = resp.json()["id"]
    resp = api.put(f"/api/v1/chart/{own}", json={"slice_name": "Analyst: renamed"})
    assert resp.status_code == 200, resp.text
    resp = api.post("/api/v1/dashboard/", json={"dashboard_title": "Analyst's own"})
    assert resp.status_code == 201, resp.text
    resp = api.put(
        f"/api/v1/dashboard/{dashboards['urban-integration']['id']}", json={"dashboard_title": "x"}
    )
    assert resp.status_code in (403, 404), resp.text

    databases = {d["database_name"]: d["id"] for d in api.get("/api/v1/database/").json()["result"]}
    assert set(databases) == {"warehouse"}, databases

    def sql(statement: str) -> requests.Response:
        return api.post(
            "/api/v1/sqllab/execute/",
            json={"database_id": databases["warehouse"], "sql": statement, "runAsync": False},
        )

    resp = sql("SELECT count(*) AS n FROM published.mart_city_area_monthly")
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"][0]["n"] > 0
    for table in ("raw.posts", "ml.post_areas", "published_detail.fct_keyword_contexts"):
        resp = sql(f"SELECT count(*) FROM {table}")
        errors = resp.json().get("errors") or [{}]
        assert resp.status_code != 200, f"{table}: {resp.text}"
        assert errors[0].get("error_type") == "TABLE_SECURITY_ACCESS_ERROR", resp.text

    ngo = login(superset, "ngo")
    resp = ngo.post(
        "/api/v1/sqllab/execute/",
        json={"database_id": databases["warehouse"], "sql": "SELECT 1", "runAsync": False},
    )
    assert resp.status_code in (401, 403), resp.text
    resp = ngo.post(
        "/api/v1/chart/",
        json={
            "slice_name": "x",
            "datasource_id": ds,
            "datasource_type": "table",
            "viz_type": "table",
        },
    )
    assert resp.status_code in (401, 403), resp.text


@pytest.mark.slow
@pytest.mark.skipif(
    not superset_service.CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (bin/install --browser)",
)
def test_every_dashboard_renders_in_chromium(superset, dashboards, tmp_path):
    started = time.monotonic()
    pw = superset["passwords"]
    states = superset_service.render_dashboards(
        superset["url"], "data_engineer", pw["data_engineer"],
        [*PUBLIC_SLUGS, "data-quality"], tmp_path,
    )  # fmt: skip
    states |= superset_service.render_dashboards(
        superset["url"], "researcher", pw["researcher"], ["keywords-in-context"], tmp_path
    )
    for slug, state in states.items():
        assert state, f"{slug}: no chart drawn ({tmp_path / (slug + '.png')})"
        for s in state:
            assert s["hasContainer"] and not s["error"], (slug, s, tmp_path)
            assert s["canvases"] or s["tableRows"] or s["bigNumber"] or s["svgs"], (slug, s)
    print(f"rendered {len(states)} dashboards in {time.monotonic() - started:.0f}s")


def test_config_names_a_login_per_role():
    config = yaml.safe_load((REPO / "config" / "superset.yml").read_text())
    roles = {r for u in config["users"] for r in u["roles"]}
    ministries = {f"Ministry {m['id']}" for m in config["ministries"]}
    assert roles >= {"Analyst", "NGO", "Researcher", "Data engineer"} | ministries


def test_superset_config_limits_logins_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SUPERSET_HOME", str(tmp_path))
    monkeypatch.setenv("SUPERSET_SECRET_KEY", "x" * 48)
    for name in ("SUPERSET_AUTH_RATE_LIMIT", "SUPERSET_RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    config = _load("superset_config_under_test", REPO / "superset" / "superset_config.py")
    assert config.RATELIMIT_ENABLED and config.AUTH_RATE_LIMITED
    assert config.AUTH_RATE_LIMIT == "5 per 40 second"
    assert config.RATELIMIT_STORAGE_URI == "memory://"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    env = compose["x-superset-env"]
    assert env["SUPERSET_RATELIMIT_STORAGE_URI"].startswith("redis://redis:6379/")


# Last in the module: it spends the login budget of 127.0.0.1 for the rest of the window.
def test_failed_logins_are_rate_limited(superset):
    """Failed logins, through the REST API and the login form, until HTTP 429; then the right
    password is refused too, until the window passes."""
    api = f"{superset['url']}/api/v1/security/login"
    wrong = {"username": "analyst", "password": "not-the-password", "provider": "db"}
    codes = []
    for _ in range(AUTH_LIMIT + 1):
        codes.append(requests.post(api, json=wrong, timeout=30).status_code)
        if codes[-1] == 429:
            break
    # Earlier logins of the module may share the window: the limit comes at the latest here.
    assert codes[-1] == 429, codes
    assert set(codes[:-1]) == {401}, codes
    right = {**wrong, "password": superset["passwords"]["analyst"]}
    assert requests.post(api, json=right, timeout=30).status_code == 429
    # The login form (Flask-AppBuilder's AuthDBView, behind the CSRF check) has a budget of its own.
    form = requests.Session()
    codes = []
    for _ in range(AUTH_LIMIT + 1):
        page = form.get(f"{superset['url']}/login/", timeout=30)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        data = {"username": "analyst", "password": "not-the-password", "csrf_token": token}
        resp = form.post(f"{superset['url']}/login/", data=data, timeout=30, allow_redirects=False)
        codes.append(resp.status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429, codes
    assert set(codes[:-1]) == {302}, codes  # back to the login page: refused
