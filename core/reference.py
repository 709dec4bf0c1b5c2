"""Reference data: where the dbt seeds live (taxonomy, cities, countries, events).

The seeds are the one copy of the reference tables: dbt loads them into the warehouse and the
Python stages read the same CSV files. `MONITOR_SEEDS_DIR` points at another copy (for example an
installed one).
"""

from __future__ import annotations

from pathlib import Path

from core.settings import load_settings


def seeds_dir() -> Path:
    return load_settings().seeds_dir


def seed_file(name: str, directory: Path | None = None) -> Path:
    """`<seeds>/<name>`, from `directory` when given."""
    return (directory or seeds_dir()) / name
