"""The dbt project runs in one direction: sources -> staging -> intermediate -> marts. Sources
are declared and read in staging only (one `_<system>__sources.yml` per source system),
intermediate models read staging or intermediate, marts read intermediate, staging or other
marts; every ref() and source() is written in the model's SQL, where dbt and Cosmos see it."""

from __future__ import annotations

import copy

from tests.dbt.project import (
    PROJECT,
    Manifest,
    hidden_dependencies,
    layer_violations,
    structure_problems,
)


def test_layers_run_one_way(manifest: Manifest) -> None:
    assert layer_violations(manifest) == []


def test_dependencies_are_written_in_the_model_sql(manifest: Manifest) -> None:
    assert hidden_dependencies(manifest) == []


def test_sources_folders_and_names_follow_the_conventions(manifest: Manifest) -> None:
    assert structure_problems(manifest) == []


def _model(manifest: Manifest, name: str) -> dict:
    return manifest["nodes"][f"model.{PROJECT}.{name}"]


def _depend(manifest: Manifest, name: str, on: str) -> Manifest:
    doctored = copy.deepcopy(manifest)
    _model(doctored, name)["depends_on"]["nodes"].append(on)
    return doctored


def test_layer_rules_catch_each_kind_of_violation(manifest: Manifest) -> None:
    source = next(uid for uid in manifest["sources"] if uid.endswith(".social.posts"))
    cases = {
        "source outside staging": _depend(manifest, "mart_source_coverage", source),
        "intermediate reads a mart": _depend(
            manifest, "int_focal_points__scored", f"model.{PROJECT}.mart_city_area_daily"
        ),
        "staging reads a model": _depend(
            manifest, "stg_social__posts", f"model.{PROJECT}.stg_ml__post_languages"
        ),
        "staging reads a seed": _depend(manifest, "stg_social__posts", f"seed.{PROJECT}.cities"),
    }
    for case, doctored in cases.items():
        assert len(layer_violations(doctored)) == 1, case


def test_hidden_dependency_rule_catches_a_ref_inside_a_macro(manifest: Manifest) -> None:
    doctored = copy.deepcopy(manifest)
    node = _model(doctored, "mart_city_area_weekly")
    node["raw_code"] = node["raw_code"].replace("ref('dim_cities')", "cities_relation()")
    macro = next(m for m in doctored["macros"].values() if m["package_name"] == PROJECT)
    macro["macro_sql"] += "{{ ref('dim_cities') }}"
    found = hidden_dependencies(doctored)
    assert len(found) == 2 and "mart_city_area_weekly" in found[0], found


def test_structure_rules_catch_a_misplaced_source_and_a_misnamed_model(
    manifest: Manifest,
) -> None:
    doctored = copy.deepcopy(manifest)
    source = next(s for s in doctored["sources"].values() if s["source_name"] == "ml")
    source["original_file_path"] = "models/intermediate/discourse/_discourse__sources.yml"
    _model(doctored, "int_posts__classified")["name"] = "int_posts_classified"
    found = structure_problems(doctored)
    assert len(found) == 3, found  # the misplaced file, two files for source ml, the name
