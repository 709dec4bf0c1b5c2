"""Running dbt (seed, run, test) against the warehouse as the transformer role.

dbt is invoked in-process through its programmatic entry point (`dbtRunner`), so an Airflow task
needs no shell and a failing model or test surfaces as an exception naming the failing nodes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from core.db import PgParams
from core.settings import DBT_DIR, load_settings

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    pass


def dbt_env(url: str) -> dict[str, str]:
    p = PgParams.from_url(url)
    return {
        "DBT_PG_HOST": p.host,
        "DBT_PG_PORT": str(p.port),
        "DBT_PG_USER": p.user,
        "DBT_PG_PASSWORD": p.password,
        "DBT_PG_DBNAME": p.dbname,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }


def target_path() -> str:
    """dbt's target directory: MONITOR_DBT_TARGET_PATH (a benchmark keeps its own, away from
    concurrent runs' artefacts), else dbt/target."""
    return str(load_settings().dbt_target_path)


def ensure_manifest(url: str | None = None) -> Path:
    """dbt's manifest (target/manifest.json), written by `dbt parse` when there is none yet.
    Parsing does not connect: without a warehouse URL the profile gets placeholder values."""
    manifest = load_settings().manifest_path
    if not manifest.exists():
        run_dbt(url or "postgresql://parse@localhost/parse", ["parse"])
    return manifest


def run_dbt(url: str, args: Sequence[str]) -> list[dict[str, str]]:
    """Run `dbt <args>` on the warehouse at `url`; return one dict per node result.

    Raises DbtError listing the failing nodes when any model, seed or test fails.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when dbt actually runs

    os.environ.update(dbt_env(url))
    cli_args = [
        *args,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        target_path(),
        "--log-path",
        str(DBT_DIR / "logs"),
    ]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner().invoke(cli_args)
    nodes = []
    if result.result is not None and hasattr(result.result, "results"):
        for r in result.result.results:
            nodes.append(
                {"node": r.node.unique_id, "status": str(r.status), "message": str(r.message or "")}
            )
    if not result.success:
        failing = [n for n in nodes if n["status"] in ("error", "fail", "runtime error")]
        detail = "; ".join(f"{n['node']}: {n['status']} {n['message']}" for n in failing)
        raise DbtError(
            f"dbt {' '.join(args)} failed: {detail or result.exception}. "
            f"Logs: {DBT_DIR / 'logs' / 'dbt.log'}"
        )
    return nodes


def build(url: str) -> list[dict[str, str]]:
    """Seeds, models and their tests, in dependency order (a failing test stops what depends on it)."""
    return run_dbt(url, ["build"])
