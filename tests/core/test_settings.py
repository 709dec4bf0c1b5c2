"""Settings: defaults, clear errors, and `core.settings` as the only reader of MONITOR_*."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.settings import REPO_ROOT, SettingsError, load_settings

PACKAGES = ("core", "demo", "extractors", "classifiers", "expectations", "publication", "monitor")


def test_defaults_and_overrides(tmp_path: Path) -> None:
    s = load_settings({"MONITOR_HOME": str(tmp_path)})
    assert s.home == tmp_path.resolve()
    assert s.min_cell_size == 10
    assert s.encoder_path == str(tmp_path.resolve() / "models" / "multilingual-e5-small")
    assert s.seeds_dir == REPO_ROOT / "dbt" / "seeds"
    assert s.manifest_path == REPO_ROOT / "dbt" / "target" / "manifest.json"
    assert s.warehouse_url is None and s.encoder_threads is None
    t = load_settings(
        {"MONITOR_MIN_CELL_SIZE": "5", "MONITOR_ENCODER_THREADS": "3",
         "MONITOR_DBT_TARGET_PATH": str(tmp_path / "t")}
    )  # fmt: skip
    assert (t.min_cell_size, t.encoder_threads) == (5, 3)
    assert t.manifest_path == tmp_path / "t" / "manifest.json"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MONITOR_MIN_CELL_SIZE": "ten"}, "MONITOR_MIN_CELL_SIZE='ten': expected a whole number"),
        ({"MONITOR_MIN_CELL_SIZE": "0"}, "MONITOR_MIN_CELL_SIZE=0: must be at least 1"),
        ({"MONITOR_ENCODER_WORKERS": "2.5"}, "MONITOR_ENCODER_WORKERS='2.5'"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert message in str(err.value)


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _reads_monitor_variable(node: ast.AST) -> bool:
    """`os.environ.get("MONITOR_...")`, `os.getenv("MONITOR_...")`, `os.environ["MONITOR_..."]`."""

    def monitor_literal(arg: ast.expr | None) -> bool:
        return isinstance(arg, ast.Constant) and str(arg.value).startswith("MONITOR_")

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
        first = node.args[0] if node.args else None
        if isinstance(node.func, ast.Name):
            return node.func.id == "getenv" and monitor_literal(first)
        if node.func.attr == "getenv" or (node.func.attr == "get" and _is_environ(node.func.value)):
            return monitor_literal(first)
        return False
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return _is_environ(node.value) and monitor_literal(node.slice)
    return False


def test_no_module_but_settings_reads_monitor_variables() -> None:
    readers = [
        f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
        for package in (*PACKAGES, "dags", "bench")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path != REPO_ROOT / "core" / "settings.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _reads_monitor_variable(node)
    ]
    assert not readers, f"read MONITOR_* through core.settings.load_settings(): {readers}"


def test_the_scan_finds_a_reader() -> None:
    tree = ast.parse(
        "import os\n"
        'a = os.environ.get("MONITOR_A")\nb = os.environ["MONITOR_B"]\nc = os.getenv("MONITOR_C")\n'
        'os.environ["MONITOR_D"] = "written, not read"\ne = secrets["MONITOR_E"]\n'
    )
    assert sum(map(_reads_monitor_variable, ast.walk(tree))) == 3
