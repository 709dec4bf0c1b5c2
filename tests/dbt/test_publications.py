"""One definition per publication: every published dbt model (config.meta.publication) says
where it goes, what is suppressed and indexed and which suite checks it; it is documented
column by column, its suite exists and is about it, and an exposure lists it for each schema it
is published to."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg2
import pytest

from tests.dbt.project import (
    PROJECT,
    SUITES_DIR,
    Manifest,
    exposure_problems,
    publication_problems,
    published,
    run_dbt,
)


def test_every_publication_is_documented_checked_and_exposed(manifest: Manifest) -> None:
    assert publication_problems(manifest) == []


def test_detail_only_models_carry_no_suppression(manifest: Manifest) -> None:
    pubs = {n: node["config"]["meta"]["publication"] for n, node in published(manifest).items()}
    assert {n for n, p in pubs.items() if not p["bi"]} >= {"fct_posts", "fct_keyword_contexts"}
    assert all(p["suppress"] == [] for p in pubs.values() if not p["bi"])


def _doctor(manifest: Manifest, name: str) -> tuple[Manifest, dict]:
    doctored = copy.deepcopy(manifest)
    return doctored, doctored["nodes"][f"model.{PROJECT}.{name}"]


def test_publication_rule_catches_each_kind_of_gap(manifest: Manifest, tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    for path in SUITES_DIR.glob("*.json"):
        (suites / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert publication_problems(manifest, suites) == []

    no_description, node = _doctor(manifest, "mart_keywords_daily")
    node["description"] = " "
    undocumented_column, node = _doctor(manifest, "dim_countries")
    node["columns"]["iso3"]["description"] = ""
    bad_shape, node = _doctor(manifest, "mart_focal_points")
    del node["config"]["meta"]["publication"]["indexes"]
    unknown_column, node = _doctor(manifest, "mart_city_area_weekly")
    node["config"]["meta"]["publication"]["suppress"] = ["post_count"]
    not_exposed = copy.deepcopy(manifest)
    for exposure in not_exposed["exposures"].values():
        deps = exposure["depends_on"]["nodes"]
        deps[:] = [d for d in deps if not d.endswith(".mart_labour_migration")]
    for case, doctored in {
        "model description": no_description,
        "column description": undocumented_column,
        "publication shape": bad_shape,
        "suppressed column": unknown_column,
        "exposure": not_exposed,  # neither a published nor a detail reader lists it
    }.items():
        found = publication_problems(doctored, suites)
        assert found and len(found) <= 2, (case, found)

    (suites / "mart_event_reactions.json").unlink()
    assert len(publication_problems(manifest, suites)) == 1  # no suite file
    spec = json.loads((suites / "dim_cities.json").read_text(encoding="utf-8"))
    (suites / "dim_cities.json").write_text(json.dumps({**spec, "table": "dim_countries"}))
    assert len(publication_problems(manifest, suites)) == 2  # ... and a suite about another table
    (suites / "orphan.json").write_text(json.dumps({**spec, "name": "orphan"}))
    assert len(publication_problems(manifest, suites)) == 3  # ... and a suite nobody declares


def test_exposure_rule_catches_a_detail_table_listed_for_bi(manifest: Manifest) -> None:
    doctored = copy.deepcopy(manifest)
    bi = next(e for e in doctored["exposures"].values() if e["name"] == "bi_published_marts")
    bi["depends_on"]["nodes"].append(f"model.{PROJECT}.fct_posts")
    assert len(exposure_problems(doctored)) == 1


def _dbt_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        **os.environ,
        "DBT_PG_HOST": parts.hostname or query.get("host", ["localhost"])[0],
        "DBT_PG_PORT": str(parts.port or query.get("port", ["5432"])[0]),
        "DBT_PG_USER": unquote(parts.username or query.get("user", ["postgres"])[0]),
        "DBT_PG_PASSWORD": unquote(parts.password or ""),
        "DBT_PG_DBNAME": parts.path.lstrip("/"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }


@pytest.mark.slow
def test_documented_columns_are_the_built_columns(
    manifest: Manifest, warehouse_url: str, tmp_path: Path
) -> None:
    """The columns a published model documents are exactly those it builds, in order."""
    env = _dbt_env(warehouse_url)
    pubs = published(manifest)
    run_dbt(["seed"], tmp_path, env)
    run_dbt(["run", "--select", *(f"+{name}" for name in pubs)], tmp_path, env)
    with psycopg2.connect(warehouse_url) as conn, conn.cursor() as cur:
        for name, node in sorted(pubs.items()):
            cur.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (node["schema"], name),
            )
            assert [r[0] for r in cur.fetchall()] == list(node["columns"]), name
