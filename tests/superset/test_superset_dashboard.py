"""Real end-to-end test of the Superset dashboard (assets as code).

A fresh warehouse gets ``published.mart_city_area_daily`` from the real pipeline; Superset (``.venv-superset``) is bootstrapped twice into a temporary home
(the second run must change nothing), served by gunicorn on a free loopback port, and then:

- every chart's data API (``GET /api/v1/chart/<id>/data/``) must return exactly the rows of
  the same aggregation computed with SQL on the table;
- the read-only ``Analyst`` role can read the dashboard and its data but cannot write;
- the dashboard, opened by an analyst in headless Chromium after logging in through the
  form, renders every chart (canvas/table inside each container, titles, no error alert).

The mart is built by the real pipeline (generated posts -> raw -> classifiers -> dbt -> gate ->
publish) on the test PostgreSQL (tests/conftest.py). Only the browser test is skipped, and only
when ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.util
import secrets
import socket
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml

from core.db import PgParams, drop_database, ensure_database
from demo.generate import write_official_statistics, write_posts
from monitor import superset_service
from monitor.pipeline import run_all
from tests.conftest import TEST_PEPPER

ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)
ANALYST_USER = "analyst_test"
ANALYST_PASSWORD = "Analyst-" + secrets.token_hex(8) + "!"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

CHART_BAR = "Posts by integration area"
CHART_LINE = "Posts per day by dimension"
CHART_TABLE = "Cities by posts"
DASHBOARD_TITLE = "Urban integration discourse"
DASHBOARD_SLUG = "urban-integration"

# --- the warehouse: the real pipeline's published mart, read through the BI role ---


@pytest.fixture(scope="module")
def warehouse(pg_admin_url, tmp_path_factory) -> Iterator[dict[str, str]]:
    """A fresh warehouse database filled by the real pipeline; dropped afterwards.

    Superset connects as the read-only role `monitor_bi`, exactly as in `monitor run`.
    """
    name = "monitor_sstest_" + secrets.token_hex(4)
    url = ensure_database(pg_admin_url, name)
    try:
        imports = tmp_path_factory.mktemp("imports")
        (imports / "posts").mkdir()
        (imports / "statistics").mkdir()
        write_posts(imports / "posts" / "demo.ndjson", 1_200, seed=11)
        write_official_statistics(imports / "statistics" / "stats.csv", seed=11)
        # Small-cell suppression (k=10) would leave this small data set nearly empty for BI; the
        # dashboard test is about rendering and data fidelity, suppression has its own tests.
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MONITOR_MIN_CELL_SIZE", "1")
            run_all(url, imports, pepper=TEST_PEPPER)
        yield {
            "dsn": url,
            "sqlalchemy_uri": PgParams.from_url(url).url(user="monitor_bi", driver="psycopg2"),
        }
    finally:
        drop_database(pg_admin_url, name)


def query(dsn: str, sql: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    conn.close()
    return rows


# --- Superset fixtures ---


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _metadata_snapshot(home: Path) -> dict[str, list]:
    """What the bootstrap owns in the metadata database (ids included, timestamps not)."""
    queries = {
        "databases": "SELECT id, uuid, database_name, sqlalchemy_uri FROM dbs ORDER BY id",
        "datasets": "SELECT id, uuid, schema, table_name, database_id FROM tables ORDER BY id",
        "columns": "SELECT table_id, column_name, type, is_dttm FROM table_columns ORDER BY 1, 2",
        "metrics": "SELECT table_id, metric_name, expression FROM sql_metrics ORDER BY 1, 2",
        "charts": "SELECT id, uuid, slice_name, viz_type, datasource_id, params, query_context "
        "FROM slices ORDER BY id",
        "dashboards": "SELECT id, uuid, dashboard_title, slug, position_json, json_metadata "
        "FROM dashboards ORDER BY id",
        "dashboard_slices": "SELECT dashboard_id, slice_id FROM dashboard_slices ORDER BY 1, 2",
        "dashboard_roles": "SELECT dashboard_id, role_id FROM dashboard_roles ORDER BY 1, 2",
        "users": "SELECT id, username, active FROM ab_user ORDER BY id",
        "roles": "SELECT id, name FROM ab_role ORDER BY id",
        "analyst_permissions": "SELECT pvr.permission_view_id FROM ab_permission_view_role pvr "
        "JOIN ab_role r ON r.id = pvr.role_id WHERE r.name = 'Analyst' ORDER BY 1",
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
    timings = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPERSET_SECRET_KEY", secrets.token_urlsafe(48))
        t = time.monotonic()
        superset_service.bootstrap(home, warehouse["sqlalchemy_uri"], ADMIN_PASSWORD, port=port)
        timings["bootstrap_1"] = time.monotonic() - t
        first = _metadata_snapshot(home)
        t = time.monotonic()
        superset_service.bootstrap(home, warehouse["sqlalchemy_uri"], ADMIN_PASSWORD, port=port)
        timings["bootstrap_2"] = time.monotonic() - t
        second = _metadata_snapshot(home)
        t = time.monotonic()
        proc = superset_service.start(home, port=port)
        url = f"http://127.0.0.1:{port}"
        try:
            superset_service.wait_until_healthy(url, timeout=180, proc=proc)
            timings["start"] = time.monotonic() - t
            print(f"superset timings: {timings}")
            yield {"url": url, "home": home, "first": first, "second": second, "proc": proc}
        finally:
            rc = superset_service.stop(proc)
            assert proc.poll() is not None, "superset still running after stop()"
            print(f"superset stopped (exit {rc})")


class Api:
    """A logged-in REST client (JWT + session cookie + CSRF token, as the UI does)."""

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
        return self.session.get(self.base + path, timeout=60, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.base + path, timeout=60, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.session.put(self.base + path, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def admin_api(superset) -> Api:
    return Api(superset["url"], "admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def charts(admin_api) -> dict[str, int]:
    resp = admin_api.get("/api/v1/chart/", params={"q": "(page_size:100)"})
    assert resp.status_code == 200, resp.text
    return {c["slice_name"]: c["id"] for c in resp.json()["result"]}


@pytest.fixture(scope="module")
def analyst(superset, admin_api) -> tuple[str, str]:
    """A user holding only the Analyst role, created through the security REST API."""
    resp = admin_api.get("/api/v1/security/roles/", params={"q": "(page_size:100)"})
    assert resp.status_code == 200, resp.text
    roles = {r["name"]: r["id"] for r in resp.json()["result"]}
    assert "Analyst" in roles, roles
    resp = admin_api.post(
        "/api/v1/security/users/",
        json={
            "username": ANALYST_USER,
            "first_name": "Ana",
            "last_name": "Lyst",
            "email": "analyst@example.org",
            "active": True,
            "password": ANALYST_PASSWORD,
            "roles": [roles["Analyst"]],
        },
    )
    assert resp.status_code in (200, 201), resp.text
    return ANALYST_USER, ANALYST_PASSWORD


# --- tests ---


def _load_bootstrap_module():
    path = Path(superset_service.BOOTSTRAP_SCRIPT)
    spec = importlib.util.spec_from_file_location("superset_bootstrap_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql+psycopg2://monitor_bi@/monitor?host=/srv/monitor/.local/pg",
        "postgresql+psycopg2://monitor_bi:p%40ss:w0rd'#@127.0.0.1:5432/monitor",
    ],
)
def test_bundle_has_one_root_and_the_uri(tmp_path, uri):
    """Fast check of the zip: one root folder, every asset, the URI verbatim (sockets too)."""
    bootstrap = _load_bootstrap_module()
    bundle = bootstrap.build_bundle(uri, tmp_path / "bundle.zip")
    assert bundle.stat().st_mode & 0o077 == 0, "bundle may hold a password: owner-only"
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        roots = {n.split("/")[0] for n in names}
        assert roots == {bootstrap.BUNDLE_ROOT}
        rel = {n.split("/", 1)[1] for n in names}
        assert "metadata.yaml" in rel
        assert {r.split("/")[0] for r in rel} >= {"databases", "datasets", "charts", "dashboards"}
        texts = {n: zf.read(n).decode() for n in names}
    assert not any(bootstrap.URI_PLACEHOLDER in t for t in texts.values())
    (database,) = [yaml.safe_load(t) for n, t in texts.items() if "/databases/" in n]
    assert database["sqlalchemy_uri"] == uri
    uuids = [yaml.safe_load(t)["uuid"] for n, t in texts.items() if not n.endswith("metadata.yaml")]
    assert len(uuids) == len(set(uuids)), "asset uuids must be unique"


@pytest.mark.slow
def test_bootstrap_is_idempotent(superset):
    first, second = superset["first"], superset["second"]
    assert len(first["databases"]) == 1
    assert len(first["datasets"]) == 1
    assert {c[2] for c in first["charts"]} == {CHART_BAR, CHART_LINE, CHART_TABLE}
    assert [d[2] for d in first["dashboards"]] == [DASHBOARD_TITLE]
    assert len(first["dashboard_slices"]) == 3
    assert len(first["dashboard_roles"]) == 1
    assert [u[1] for u in first["users"]] == ["admin"]
    assert first["analyst_permissions"], "Analyst role has no permissions"
    for key in first:
        assert second[key] == first[key], f"second bootstrap changed {key}"


@pytest.mark.slow
def test_dashboard_lists_the_charts(admin_api, charts):
    assert set(charts) == {CHART_BAR, CHART_LINE, CHART_TABLE}
    resp = admin_api.get(f"/api/v1/dashboard/{DASHBOARD_SLUG}")
    assert resp.status_code == 200, resp.text
    dashboard = resp.json()["result"]
    assert dashboard["dashboard_title"] == DASHBOARD_TITLE
    assert dashboard["published"] is True
    assert [r["name"] for r in dashboard["roles"]] == ["Analyst"]
    resp = admin_api.get(f"/api/v1/dashboard/{dashboard['id']}/charts")
    assert resp.status_code == 200, resp.text
    assert {c["slice_name"] for c in resp.json()["result"]} == set(charts)
    resp = admin_api.get(f"/api/v1/dashboard/{dashboard['id']}/datasets")
    assert resp.status_code == 200, resp.text
    assert [(d["schema"], d["table_name"]) for d in resp.json()["result"]] == [
        ("published", "mart_city_area_daily")
    ]


def _chart_rows(api: Api, chart_id: int) -> list[dict]:
    resp = api.get(f"/api/v1/chart/{chart_id}/data/")
    assert resp.status_code == 200, resp.text
    results = resp.json()["result"]
    assert len(results) == 1
    assert results[0]["status"] == "success", results[0]
    assert results[0]["error"] is None
    return results[0]["data"]


def _epoch_ms(day: dt.date) -> int:
    return calendar.timegm(day.timetuple()) * 1000


@pytest.mark.slow
def test_chart_data_matches_sql(warehouse, admin_api, charts):
    dsn = warehouse["dsn"]

    # (1) bar: SUM(posts) by area_label, largest first
    expected = query(
        dsn,
        "SELECT area_label, SUM(posts) FROM published.mart_city_area_daily "
        "GROUP BY area_label ORDER BY 2 DESC",
    )
    rows = _chart_rows(admin_api, charts[CHART_BAR])
    assert {r["area_label"]: r["sum_posts"] for r in rows} == dict(expected)
    assert [r["sum_posts"] for r in rows] == sorted((r["sum_posts"] for r in rows), reverse=True)
    assert len(expected) >= 10  # the demo data touches most of the 19 areas

    # (2) line: SUM(posts) per day and dimension
    expected = query(
        dsn,
        "SELECT day, dimension, SUM(posts) FROM published.mart_city_area_daily "
        "GROUP BY day, dimension",
    )
    rows = _chart_rows(admin_api, charts[CHART_LINE])
    assert {(r["day"], r["dimension"]): r["sum_posts"] for r in rows} == {
        (_epoch_ms(day), dim): total for day, dim, total in expected
    }
    assert len(rows) == len(expected)

    # (3) table: cities by SUM(posts), largest first
    expected = query(
        dsn,
        "SELECT city_name, country_code, SUM(posts) FROM published.mart_city_area_daily "
        "GROUP BY city_name, country_code ORDER BY 3 DESC",
    )
    rows = _chart_rows(admin_api, charts[CHART_TABLE])
    got = [(r["city_name"], r["country_code"], r["sum_posts"]) for r in rows]
    assert sorted(got) == sorted(tuple(e) for e in expected)  # ties may come in any order
    assert [total for *_, total in got] == sorted((t for *_, t in got), reverse=True)
    assert len(rows) >= 8


@pytest.mark.slow
def test_analyst_reads_but_cannot_write(superset, analyst, charts):
    api = Api(superset["url"], *analyst)
    resp = api.get(f"/api/v1/dashboard/{DASHBOARD_SLUG}")
    assert resp.status_code == 200, resp.text
    dashboard_id = resp.json()["result"]["id"]
    for chart_id in charts.values():
        assert _chart_rows(api, chart_id), f"analyst got no rows for chart {chart_id}"
    resp = api.put(f"/api/v1/dashboard/{dashboard_id}", json={"dashboard_title": "hijacked"})
    assert resp.status_code in (401, 403), resp.text
    resp = api.post("/api/v1/dashboard/", json={"dashboard_title": "new"})
    assert resp.status_code in (401, 403), resp.text
    resp = api.get("/api/v1/security/users/")
    assert resp.status_code in (401, 403), resp.text


# --- browser ---

RENDER_STATE_JS = """
const holders = Array.from(
  document.querySelectorAll('[data-test="dashboard-component-chart-holder"]'));
return holders.map(h => {
  const title = h.querySelector(
    '[data-test="slice-header"] .header-title, [data-test="editable-title"]');
  const container = h.querySelector('[data-test="chart-container"]');
  const canvases = container ? Array.from(container.querySelectorAll('canvas')) : [];
  const tableRows = container ? container.querySelectorAll('table tbody tr').length : 0;
  return {
    title: title ? title.innerText.trim() : null,
    hasContainer: !!container,
    canvases: canvases.filter(c => c.width > 0 && c.height > 0).length,
    svgs: container ? container.querySelectorAll('svg').length : 0,
    tableRows: tableRows,
    tableText: container ? Array.from(container.querySelectorAll('table tbody tr'))
        .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim())) : [],
    loading: !!h.querySelector('.loading, [data-test="loading-indicator"]'),
    error: !!h.querySelector('[role="alert"], .ant-alert-error, [data-test="error-message"]'),
  };
});
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium chromium-driver)",
)
def test_dashboard_renders_in_chromium(superset, analyst, warehouse, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url = superset["url"]
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1600,1400",
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    state = None
    try:
        driver.set_page_load_timeout(60)
        driver.get(f"{url}/login/")
        wait = WebDriverWait(driver, 60)
        wait.until(ec.presence_of_element_located((By.ID, "username")))
        driver.find_element(By.ID, "username").send_keys(analyst[0])
        driver.find_element(By.ID, "password").send_keys(analyst[1])
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "/login" not in d.current_url)

        driver.get(f"{url}/superset/dashboard/{DASHBOARD_SLUG}/")

        def rendered(d):
            nonlocal state
            state = d.execute_script(RENDER_STATE_JS)
            if len(state) < 3 or any(s["loading"] for s in state):
                return False
            return all(s["error"] or s["canvases"] or s["tableRows"] for s in state)

        try:
            WebDriverWait(driver, 120, poll_frequency=1).until(rendered)
        finally:
            time.sleep(1.5)  # let the ECharts animations finish for a readable screenshot
            driver.save_screenshot(str(tmp_path / "dashboard.png"))
        assert DASHBOARD_TITLE in driver.title or DASHBOARD_TITLE in driver.page_source
        by_title = {s["title"]: s for s in state}
        assert set(by_title) == {CHART_BAR, CHART_LINE, CHART_TABLE}, state
        for title, s in by_title.items():
            assert s["hasContainer"], f"{title}: no chart container"
            assert not s["error"], f"{title}: error shown ({tmp_path / 'dashboard.png'})"
        assert by_title[CHART_BAR]["canvases"] >= 1, by_title[CHART_BAR]
        assert by_title[CHART_LINE]["canvases"] >= 1, by_title[CHART_LINE]
        # The table is plain DOM: its cells must be the SQL aggregation.
        expected = query(
            warehouse["dsn"],
            "SELECT city_name, country_code, SUM(posts) FROM published.mart_city_area_daily "
            "GROUP BY 1, 2 ORDER BY 3 DESC",
        )
        cells = [tuple(row[:3]) for row in by_title[CHART_TABLE]["tableText"]]
        assert cells == [(c, cc, str(n)) for c, cc, n in expected]
        # No error alert anywhere, and the native filters are in the filter bar.
        page_errors = driver.find_elements(
            By.CSS_SELECTOR, ".ant-alert-error, [data-test='error-message']"
        )
        assert not [e.text for e in page_errors if e.is_displayed()]
        body = driver.find_element(By.TAG_NAME, "body").text
        for label in ("City", "Period"):
            assert label in body
        for title in (CHART_BAR, CHART_LINE, CHART_TABLE):
            assert title in body
    finally:
        driver.quit()
