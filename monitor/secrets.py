"""Locally generated secrets for the embedded deployment, kept in `<home>/secrets.env`.

Generated once per machine with `secrets.token_urlsafe`, never committed (the file lives under
the git-ignored `.local/`), readable only by its owner. Production deployments set the same
variables from their secret store instead.
"""

from __future__ import annotations

import secrets
from pathlib import Path

GENERATED = {
    "MONITOR_PEPPER": lambda: secrets.token_urlsafe(32),
    "SUPERSET_SECRET_KEY": lambda: secrets.token_urlsafe(42),
    "SUPERSET_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
    "AIRFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
    "AIRFLOW__API_AUTH__JWT_SECRET": lambda: secrets.token_urlsafe(32),
}


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def ensure_local_secrets(home: Path) -> dict[str, str]:
    """Return the local secrets, generating the missing ones (existing values never change)."""
    path = home / "secrets.env"
    values = read_env_file(path)
    missing = {k: make() for k, make in GENERATED.items() if k not in values}
    if missing:
        home.mkdir(parents=True, exist_ok=True)
        values.update(missing)
        body = "# Generated locally by monitor; never commit. Delete a line to regenerate it.\n"
        body += "".join(f"{k}={v}\n" for k, v in values.items())
        path.write_text(body)
        path.chmod(0o600)
    return values
