"""Reading what is published from dbt's manifest: the declared policy, and clear errors when a
declaration is malformed or the manifest is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.publications import PublicationError, load_publications, read_manifest


def _node(name: str, publication: Any, columns: tuple[str, ...] = ("city_code", "day", "posts")):
    return {
        "resource_type": "model",
        "name": name,
        "original_file_path": f"models/marts/{name}.sql",
        "description": f"About {name}.",
        "config": {"meta": {"publication": publication} if publication is not None else {}},
        "columns": {c: {"name": c, "description": f"The {c}."} for c in columns},
    }


def _manifest(*nodes: dict) -> dict:
    return {"nodes": {f"model.p.{n['name']}": n for n in nodes}}


def test_declared_policy_is_read() -> None:
    pubs = load_publications(
        _manifest(
            _node("mart_b", {"bi": True, "detail": True, "suppress": ["posts"],
                             "indexes": [["city_code", "day"], ["day"]], "suite": "mart_b"}),
            _node("fct_a", {"bi": False, "detail": True, "suite": "fct_a"}),
            _node("int_not_published", None),
        )
    )  # fmt: skip
    assert [p.table for p in pubs] == ["fct_a", "mart_b"]
    fct, mart = pubs
    assert (fct.bi, fct.detail, fct.suppress, fct.indexes) == (False, True, (), ())
    assert mart.suppress == ("posts",)
    assert mart.indexes == (("city_code", "day"), ("day",))
    assert mart.description == "About mart_b."
    assert mart.column("posts").description == "The posts."
    assert mart.path == "models/marts/mart_b.sql"


@pytest.mark.parametrize(
    ("publication", "message"),
    [
        ({"bi": True, "detail": True, "supress": ["posts"]}, "expected keys among"),
        ({"bi": False, "detail": False}, "at least one true"),
        ({"bi": "yes", "detail": True}, "booleans"),
        ({"bi": True, "detail": True, "suppress": ["visits"]}, "column 'visits' is not documented"),
        ({"bi": True, "detail": True, "indexes": [["city_code", "dy"]]}, "column 'dy'"),
        ({"bi": True, "detail": True, "suppress": "posts"}, "expected a list of column names"),
    ],
)
def test_malformed_declarations_name_the_model(publication: dict, message: str) -> None:
    with pytest.raises(PublicationError) as err:
        load_publications(_manifest(_node("mart_x", publication)))
    assert message in str(err.value)
    assert "models/marts/mart_x.sql: model mart_x meta.publication" in str(err.value)


def test_missing_manifest_and_no_publication(tmp_path: Path) -> None:
    with pytest.raises(PublicationError, match=r"dbt manifest not found.*dbt parse"):
        read_manifest(tmp_path / "manifest.json")
    with pytest.raises(PublicationError, match=r"no model declares meta\.publication"):
        load_publications(_manifest(_node("mart_x", None)))
