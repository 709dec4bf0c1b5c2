"""Every Superset dashboard is a dbt exposure that names exactly the published models its charts
read, so dbt's lineage shows who is affected when a mart changes."""

from __future__ import annotations

import yaml

from core.settings import DBT_DIR, REPO_ROOT

DASHBOARDS = REPO_ROOT / "superset" / "dashboards.yml"
EXPOSURES = DBT_DIR / "models" / "_exposures.yml"


def _models() -> set[str]:
    return {p.stem for p in (DBT_DIR / "models" / "marts").rglob("*.sql")}


def _charts_models(spec: dict, dashboard: dict) -> set[str]:
    shared = spec.get("shared_charts") or {}
    found = set()
    for row in dashboard["rows"]:
        for chart in row:
            chart = shared.get(chart, {}) if isinstance(chart, str) else chart
            found.add(chart.get("dataset"))
    return found & _models()


def test_each_dashboard_is_an_exposure_of_the_models_it_reads():
    spec = yaml.safe_load(DASHBOARDS.read_text(encoding="utf-8"))
    exposures = {
        e["name"]: e for e in yaml.safe_load(EXPOSURES.read_text(encoding="utf-8"))["exposures"]
    }
    checked = 0
    for dashboard in spec["dashboards"]:
        models = _charts_models(spec, dashboard)
        if not models:  # reads only the quality views of published_meta, not a model
            continue
        name = "dashboard_" + dashboard["slug"].replace("-", "_")
        assert name in exposures, f"{DASHBOARDS}: dashboard {dashboard['slug']} has no exposure"
        exposure = exposures[name]
        assert exposure["type"] == "dashboard"
        refs = {d.removeprefix("ref('").removesuffix("')") for d in exposure["depends_on"]}
        assert refs == models, (
            f"{name}: exposure lists {sorted(refs)}, charts read {sorted(models)}"
        )
        checked += 1
    assert checked >= 8
