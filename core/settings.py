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

# Superset as `monitor run` serves it; extracts' alert digests link to its dashboard.
DEFAULT_SUPERSET_URL = "http://127.0.0.1:8088"

# Days a post's text is kept (MONITOR_RETENTION_DAYS): about 13 months, so a year-on-year
# comparison can still read the samples of the same month a year ago.
DEFAULT_RETENTION_DAYS = 400

# Classification is split into this many hash buckets of post ids (one mapped task each), so
# that this many workers can classify at once; more shards than worker slots only queue.
DEFAULT_CLASSIFY_SHARDS = 4
# Posts per committed classification batch: a lost worker loses at most one batch per shard.
DEFAULT_CLASSIFY_BATCH = 2_000
# How often ingest_social looks at its sources (a cron expression or preset).
DEFAULT_INGEST_SCHEDULE = "@hourly"


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
    extracts_config: Path | None = None
    superset_url: str = DEFAULT_SUPERSET_URL
    seeds_dir: Path = DBT_DIR / "seeds"
    dbt_target_path: Path = DBT_DIR / "target"
    test_pg_url: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    classify_shards: int = DEFAULT_CLASSIFY_SHARDS
    classify_batch: int = DEFAULT_CLASSIFY_BATCH
    ingest_schedule: str = DEFAULT_INGEST_SCHEDULE
    # Only sources that read local files run (the demo, air-gapped installations).
    offline: bool = False
    # Where failed tasks are reported: a URL that receives a JSON POST, and/or e-mail addresses
    # sent through an SMTP server given as host[:port].
    alert_webhook_url: str | None = None
    alert_emails: tuple[str, ...] = ()
    alert_smtp: str | None = None
    alert_from: str = "monitor@localhost"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pg"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def manifest_path(self) -> Path:
        return self.dbt_target_path / "manifest.json"

    @property
    def erasure_requests_dir(self) -> Path:
        """Where the erasure DAG finds request files (docs/privacy.md, "Erasure")."""
        return self.home / "erasure" / "requests"


def _int(env: dict[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None


def _positive(env: dict[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value is None or value < 1:
        raise SettingsError(f"{name}={value}: must be at least 1")
    return value


def _bool(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r}: expected true or false")


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
        extracts_config=_path(env, "MONITOR_EXTRACTS_CONFIG"),
        superset_url=(env.get("MONITOR_SUPERSET_URL") or DEFAULT_SUPERSET_URL).rstrip("/"),
        seeds_dir=_path(env, "MONITOR_SEEDS_DIR") or DBT_DIR / "seeds",
        dbt_target_path=_path(env, "MONITOR_DBT_TARGET_PATH") or DBT_DIR / "target",
        test_pg_url=env.get("MONITOR_TEST_PG_URL") or None,
        retention_days=_positive(env, "MONITOR_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
        classify_shards=_positive(env, "MONITOR_CLASSIFY_SHARDS", DEFAULT_CLASSIFY_SHARDS),
        classify_batch=_positive(env, "MONITOR_CLASSIFY_BATCH", DEFAULT_CLASSIFY_BATCH),
        ingest_schedule=env.get("MONITOR_INGEST_SCHEDULE") or DEFAULT_INGEST_SCHEDULE,
        offline=_bool(env, "MONITOR_OFFLINE"),
        alert_webhook_url=env.get("MONITOR_ALERT_WEBHOOK_URL") or None,
        alert_emails=tuple(
            a.strip() for a in (env.get("MONITOR_ALERT_EMAILS") or "").split(",") if a.strip()
        ),
        alert_smtp=env.get("MONITOR_ALERT_SMTP") or None,
        alert_from=env.get("MONITOR_ALERT_FROM") or "monitor@localhost",
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
