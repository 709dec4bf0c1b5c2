"""Settings shared by every stage, read from the environment (12-factor).

This module is the only reader of `MONITOR_*` variables: every other module asks
`load_settings()`, which reads the environment at call time (so a test or a task that changes a
variable sees the change). Nothing here has a side effect: reading settings never starts a
database or writes a file. `MONITOR_WAREHOUSE_URL` selects an existing PostgreSQL; without it the
CLI starts the embedded server under `MONITOR_HOME` (default `<repo>/.local`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = REPO_ROOT / "dbt"
ENCODER_DIRNAME = "multilingual-e5-small"

# Languages the platform covers. Language ID is restricted to these so that short posts are not
# attributed to a language nobody configured.
LANGUAGES = ("en", "de", "nl", "sv", "fr", "es", "it", "el", "pl", "pt", "da", "fi")

# Small-cell suppression k when MONITOR_MIN_CELL_SIZE is not set.
DEFAULT_MIN_CELL_SIZE = 10


class SettingsError(ValueError):
    """A MONITOR_* variable holds a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str | None
    pepper: str | None
    min_cell_size: int
    encoder_path: str
    # Optional overrides; None means the owning stage's default.
    encoder_runtime: str | None = None
    encoder_precision: str | None = None
    encoder_threads: int | None = None
    encoder_workers: int | None = None
    classifier_heads: Path | None = None
    watchlist: Path | None = None
    sources_config: Path | None = None
    statistics_config: Path | None = None
    seeds_dir: Path = DBT_DIR / "seeds"
    dbt_target_path: Path = DBT_DIR / "target"
    test_pg_url: str | None = None

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pg"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def manifest_path(self) -> Path:
        return self.dbt_target_path / "manifest.json"


def _int(env: dict[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None


def _path(env: dict[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("MONITOR_HOME") or REPO_ROOT / ".local").resolve()
    min_cell_size = _int(env, "MONITOR_MIN_CELL_SIZE", DEFAULT_MIN_CELL_SIZE)
    if min_cell_size is None or min_cell_size < 1:
        raise SettingsError(f"MONITOR_MIN_CELL_SIZE={min_cell_size}: must be at least 1")
    return Settings(
        home=home,
        warehouse_url=env.get("MONITOR_WAREHOUSE_URL") or None,
        pepper=env.get("MONITOR_PEPPER") or None,
        min_cell_size=min_cell_size,
        encoder_path=env.get("MONITOR_ENCODER_PATH") or str(home / "models" / ENCODER_DIRNAME),
        encoder_runtime=env.get("MONITOR_ENCODER_RUNTIME") or None,
        encoder_precision=env.get("MONITOR_ENCODER_PRECISION") or None,
        encoder_threads=_int(env, "MONITOR_ENCODER_THREADS", None),
        encoder_workers=_int(env, "MONITOR_ENCODER_WORKERS", None),
        classifier_heads=_path(env, "MONITOR_CLASSIFIER_HEADS"),
        watchlist=_path(env, "MONITOR_WATCHLIST"),
        sources_config=_path(env, "MONITOR_SOURCES_CONFIG"),
        statistics_config=_path(env, "MONITOR_STATISTICS_CONFIG"),
        seeds_dir=_path(env, "MONITOR_SEEDS_DIR") or DBT_DIR / "seeds",
        dbt_target_path=_path(env, "MONITOR_DBT_TARGET_PATH") or DBT_DIR / "target",
        test_pg_url=env.get("MONITOR_TEST_PG_URL") or None,
    )


def require_warehouse_url(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    if not settings.warehouse_url:
        raise RuntimeError(
            "MONITOR_WAREHOUSE_URL is not set. Run through `monitor run` (which starts the embedded "
            "PostgreSQL and sets it), or export a URL such as "
            "postgresql://postgres@127.0.0.1:5432/monitor."
        )
    return settings.warehouse_url


def require_pepper(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    if not settings.pepper or len(settings.pepper) < 16:
        raise RuntimeError(
            "MONITOR_PEPPER (the secret key of author pseudonyms) is missing or shorter than 16 "
            "characters. `monitor run` generates one in .local/secrets.env; in production set it "
            "from your secret store and never change it (pseudonyms would change)."
        )
    return settings.pepper
