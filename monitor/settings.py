"""Settings shared by every stage, read from the environment (12-factor).

Nothing here has a side effect: reading settings never starts a database or writes a file.
`MONITOR_WAREHOUSE_URL` selects an existing PostgreSQL; without it the CLI starts the embedded
server under `MONITOR_HOME` (default `<repo>/.local`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# Languages the platform covers (DESIGN.md §5, issue 5). Language ID is restricted to these so
# that short posts are not attributed to a language nobody configured.
LANGUAGES = ("en", "de", "nl", "sv", "fr", "es", "it", "el", "pl", "pt", "da", "fi")


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str | None
    pepper: str | None
    min_cell_size: int
    retention_days: int
    encoder_path: str

    @property
    def dbt_project_dir(self) -> Path:
        return REPO_ROOT / "dbt"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pg"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("MONITOR_HOME") or REPO_ROOT / ".local").resolve()
    return Settings(
        home=home,
        warehouse_url=env.get("MONITOR_WAREHOUSE_URL") or None,
        pepper=env.get("MONITOR_PEPPER") or None,
        min_cell_size=int(env.get("MONITOR_MIN_CELL_SIZE", "10")),
        retention_days=int(env.get("MONITOR_RETENTION_DAYS", "730")),
        encoder_path=env.get("MONITOR_ENCODER_PATH")
        or str(home / "models" / "multilingual-e5-small"),
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
