"""Rules the dbt project keeps, as functions of its manifest: each returns the violations it
finds (empty when the project is in order), so a test can both assert a clean project and show
that a rule catches a doctored manifest.

The manifest comes from `dbt parse` (no warehouse needed); `parse_manifest` runs it in a
subprocess with placeholder connection values, into a directory of the caller's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.settings import DBT_DIR
from expectations.gate import SUITES_DIR

PROJECT = "urban_integration_monitor"
LAYERS = ("staging", "intermediate", "marts")
PUBLICATION_KEYS = {"bi", "detail", "suppress", "indexes", "suite"}
SCHEMAS = {"published": "bi", "published_detail": "detail"}  # schema -> publication flag

Manifest = dict[str, Any]


def parse_manifest(target_path: Path) -> Manifest:
    """`dbt parse` of the project into `target_path`; its manifest. Parsing never connects, but
    the profile's variables must exist."""
    env = {
        **os.environ,
        "DBT_PG_HOST": "localhost",
        "DBT_PG_USER": "parse",
        "DBT_PG_DBNAME": "parse",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    run_dbt(["parse"], target_path, env)
    return json.loads((target_path / "manifest.json").read_text(encoding="utf-8"))


def run_dbt(args: list[str], target_path: Path, env: dict[str, str]) -> None:
    cmd = [sys.executable, "-c", "from dbt.cli.main import cli; cli()", *args]
    cmd += ["--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    cmd += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    done = subprocess.run(cmd, env=env, cwd=DBT_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout[-4000:]}{done.stderr}")


# --- nodes ----------------------------------------------------------------------------------


def models(manifest: Manifest) -> dict[str, dict[str, Any]]:
    return {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "model" and n["package_name"] == PROJECT
    }


def folder(node: dict[str, Any]) -> tuple[str, ...]:
    """The node's folders under models/: ('staging', 'ml') for models/staging/ml/x.sql."""
    return Path(node["original_file_path"]).parts[1:-1]


def layer(node: dict[str, Any]) -> str | None:
    parts = folder(node)
    return parts[0] if parts and parts[0] in LAYERS else None


def publication(node: dict[str, Any]) -> Any:
    return ((node.get("config") or {}).get("meta") or {}).get("publication")


def published(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Published models by name: those declaring config.meta.publication."""
    return {n["name"]: n for n in models(manifest).values() if publication(n) is not None}


# --- layering -------------------------------------------------------------------------------


def layer_violations(manifest: Manifest) -> list[str]:
    """Sources are read in staging only; staging reads sources only; intermediate reads staging,
    intermediate or seeds; marts read intermediate, staging, other marts or seeds. Exposures
    depend on marts only."""
    nodes = manifest["nodes"]
    found = []
    for node in models(manifest).values():
        name, here = node["name"], layer(node)
        if here is None:
            found.append(f"{name}: {node['original_file_path']} is in none of {LAYERS}")
            continue
        for dep in node["depends_on"]["nodes"]:
            kind = dep.split(".")[0]
            dep_name = dep.split(".")[-1]
            if kind == "source":
                if here != "staging":
                    found.append(
                        f"{name} ({here}) reads source {dep_name}: sources are for staging"
                    )
                continue
            if here == "staging":
                found.append(
                    f"{name} (staging) reads {kind} {dep_name}: staging reads sources only"
                )
                continue
            if kind == "seed":
                continue
            there = layer(nodes[dep]) if dep in nodes else None
            allowed = {"intermediate": ("staging", "intermediate"), "marts": LAYERS}[here]
            if there not in allowed:
                found.append(f"{name} ({here}) reads {dep_name} ({there})")
    for exposure in manifest["exposures"].values():
        for dep in exposure["depends_on"]["nodes"]:
            node = nodes.get(dep)
            if node is None or node["resource_type"] != "model" or layer(node) != "marts":
                found.append(f"exposure {exposure['name']} depends on {dep}, not a mart")
    return found


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_CALL = re.compile(r"\b(ref|source)\(\s*['\"]")


def _quoted(name: str) -> str:
    return "['\"]" + re.escape(name) + "['\"]"


def hidden_dependencies(manifest: Manifest) -> list[str]:
    """Every ref() and source() of a model is written in the model's own SQL (relations are
    passed to macros as arguments), where a parser of model files (Cosmos's) sees it; no macro of
    the project calls ref() or source() itself."""
    found = []
    for node in models(manifest).values():
        code = node["raw_code"]
        for ref in node["refs"]:
            name = ref["name"]
            if not re.search(r"\bref\(\s*" + _quoted(name) + r"\s*\)", code):
                found.append(f"{node['name']}: ref('{name}') is not written in its SQL")
        for source_name, table in node["sources"]:
            pattern = (
                r"\bsource\(\s*" + _quoted(source_name) + r"\s*,\s*" + _quoted(table) + r"\s*\)"
            )
            if not re.search(pattern, code):
                found.append(
                    f"{node['name']}: source('{source_name}', '{table}') is not written in its SQL"
                )
    for macro in manifest["macros"].values():
        if macro["package_name"] == PROJECT and _CALL.search(
            _JINJA_COMMENT.sub("", macro["macro_sql"])
        ):
            found.append(f"macro {macro['name']} ({macro['original_file_path']}) calls ref/source")
    return found


_INT_NAME = re.compile(r"^int_[a-z0-9]+(_[a-z0-9]+)*__[a-z0-9]+(_[a-z0-9]+)*$")
_MART_NAME = re.compile(r"^(fct|dim|mart)_[a-z0-9_]+$")


def structure_problems(manifest: Manifest) -> list[str]:
    """One `_<system>__sources.yml` per source system, in staging/<system>/, declaring the one
    source <system>; staging models are `stg_<system>__<entity>` and read only their system's
    source; intermediate models are `int_<entity>__<verb>`, in a domain folder that marts also
    have; marts are fct_, dim_ or mart_."""
    found = []
    systems: dict[str, set[str]] = {}
    for source in manifest["sources"].values():
        if source["package_name"] != PROJECT:
            continue
        path = Path(source["original_file_path"])
        system = source["source_name"]
        systems.setdefault(system, set()).add(str(path))
        want = Path("models", "staging", system, f"_{system}__sources.yml")
        if path != want:
            found.append(f"source {system}.{source['name']} is declared in {path}, not {want}")
    for system, paths in systems.items():
        if len(paths) > 1:
            found.append(f"source {system} is declared in several files: {sorted(paths)}")
    mart_domains = {folder(n)[1] for n in models(manifest).values() if folder(n)[:1] == ("marts",)}
    for node in models(manifest).values():
        name, parts = node["name"], folder(node)
        if parts[:1] == ("staging",):
            system = parts[1] if len(parts) > 1 else ""
            if not name.startswith(f"stg_{system}__"):
                found.append(f"{name}: a staging model of {system} is named stg_{system}__<entity>")
            for source_name, _table in node["sources"]:
                if source_name != system:
                    found.append(f"{name} (staging/{system}) reads source {source_name}")
        elif parts[:1] == ("intermediate",):
            if not _INT_NAME.match(name):
                found.append(f"{name}: an intermediate model is named int_<entity>__<verb>")
            if len(parts) < 2 or parts[1] not in mart_domains:
                found.append(f"{name}: intermediate/{'/'.join(parts[1:])} is not a domain of marts")
        elif parts[:1] == ("marts",) and not _MART_NAME.match(name):
            found.append(f"{name}: a mart is named fct_, dim_ or mart_<name>")
    return found


# --- publications ---------------------------------------------------------------------------


def _suite_columns(expectation: dict[str, Any]) -> list[str]:
    kwargs = expectation.get("kwargs") or {}
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    for k in ("column_list", "column_set"):
        cols += list(kwargs.get(k) or [])
    return cols


def publication_problems(manifest: Manifest, suites_dir: Path = SUITES_DIR) -> list[str]:
    """Every published model (config.meta.publication) is a mart, declares its publication in
    the agreed shape, has a description and a description for every column, has a suite
    (`<suites_dir>/<suite>.json` about it, naming only its columns), and is in the depends_on
    of an exposure reading each schema it is published to. Every suite belongs to one."""
    found = []
    pubs = published(manifest)
    if not pubs:
        return ["no model declares config.meta.publication"]
    suites_used = set()
    for name, node in sorted(pubs.items()):
        spec = publication(node)
        where = f"{name} ({node['original_file_path']})"
        if layer(node) != "marts":
            found.append(f"{where}: published but not a mart (publish copies from schema marts)")
        if not isinstance(spec, dict) or set(spec) != PUBLICATION_KEYS:
            found.append(f"{where}: meta.publication has keys {sorted(PUBLICATION_KEYS)}")
            continue
        if not isinstance(spec["bi"], bool) or not isinstance(spec["detail"], bool):
            found.append(f"{where}: bi and detail are true or false")
        elif not (spec["bi"] or spec["detail"]):
            found.append(f"{where}: published nowhere (bi and detail both false)")
        columns = node["columns"]
        suppress, indexes = spec["suppress"], spec["indexes"]
        if not isinstance(suppress, list) or not all(isinstance(c, str) for c in suppress):
            found.append(f"{where}: suppress is a list of column names")
            suppress = []
        if not isinstance(indexes, list) or not all(
            isinstance(ix, list) and ix and all(isinstance(c, str) for c in ix) for ix in indexes
        ):
            found.append(f"{where}: indexes is a list of lists of column names")
            indexes = []
        for col in [*suppress, *(c for ix in indexes for c in ix)]:
            if col not in columns:
                found.append(f"{where}: suppress/indexes name {col}, not a documented column")
        if not (node.get("description") or "").strip():
            found.append(f"{where}: no description")
        if not columns:
            found.append(f"{where}: no columns documented")
        for col, info in columns.items():
            if not (info.get("description") or "").strip():
                found.append(f"{where}: column {col} has no description")
        suite = spec["suite"]
        if not isinstance(suite, str) or not suite:
            found.append(f"{where}: suite names a file of {suites_dir}")
            continue
        suites_used.add(suite)
        path = suites_dir / f"{suite}.json"
        if not path.is_file():
            found.append(f"{where}: suite {path} does not exist")
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("table") != name:
            found.append(f"{path.name}: table is {doc.get('table')!r}, not {name!r}")
        if doc.get("name") != suite:
            found.append(f"{path.name}: name is {doc.get('name')!r}, not {suite!r}")
        if not doc.get("expectations"):
            found.append(f"{path.name}: no expectations")
        for e in doc.get("expectations") or []:
            if e.get("severity") not in ("critical", "warning"):
                found.append(f"{path.name}: {e.get('type')} has severity {e.get('severity')!r}")
            for col in _suite_columns(e):
                if col not in columns:
                    found.append(
                        f"{path.name}: {e.get('type')} names {col}, not a column of {name}"
                    )
    for path in sorted(suites_dir.glob("*.json")):
        if path.stem not in suites_used:
            found.append(f"{path.name}: no published model declares this suite")
    found += exposure_problems(manifest)
    return found


def exposure_problems(manifest: Manifest) -> list[str]:
    """Each exposure says which schema it reads (meta.schema: published or published_detail) and
    as which role; it lists only models published there; each published model is listed by an
    exposure of every schema it is published to."""
    found = []
    pubs = published(manifest)
    readers: dict[str, set[str]] = {schema: set() for schema in SCHEMAS}
    for exposure in manifest["exposures"].values():
        meta = (exposure.get("config") or {}).get("meta") or exposure.get("meta") or {}
        schema = meta.get("schema")
        if schema not in SCHEMAS or not meta.get("role"):
            found.append(
                f"exposure {exposure['name']}: meta names its schema {sorted(SCHEMAS)} and role"
            )
            continue
        for dep in exposure["depends_on"]["nodes"]:
            name = dep.split(".")[-1]
            spec = publication(pubs[name]) if name in pubs else None
            if not isinstance(spec, dict) or spec.get(SCHEMAS[schema]) is not True:
                found.append(f"exposure {exposure['name']} reads {name}, not published to {schema}")
            readers[schema].add(name)
    for name, node in sorted(pubs.items()):
        spec = publication(node)
        if not isinstance(spec, dict):
            continue
        for schema, flag in SCHEMAS.items():
            if spec.get(flag) is True and name not in readers[schema]:
                found.append(f"{name}: published to {schema}, but no exposure of {schema} lists it")
    return found
