"""Locally generated secrets for the embedded deployment, kept in `<home>/secrets.env`.

Generated once per machine with `secrets.token_urlsafe`, never committed (the file lives under
the git-ignored `.local/`), readable only by its owner. Production deployments set the same
variables from their secret store instead.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from core.db import Role

# The warehouse logins' passwords (core.db.LOGIN_ROLES), set by `monitor run` after migrating.
LOGIN_SECRETS = {
    Role.BI: "WAREHOUSE_BI_PASSWORD",
    Role.EXTRACTS: "WAREHOUSE_EXTRACTS_PASSWORD",
    Role.DETAIL: "WAREHOUSE_DETAIL_PASSWORD",
}

GENERATED = {
    "MONITOR_PEPPER": lambda: secrets.token_urlsafe(32),
    "SUPERSET_SECRET_KEY": lambda: secrets.token_urlsafe(42),
    "SUPERSET_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
    "AIRFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
    "AIRFLOW__API_AUTH__JWT_SECRET": lambda: secrets.token_urlsafe(32),
    **{name: (lambda: secrets.token_urlsafe(24)) for name in LOGIN_SECRETS.values()},
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


def login_passwords(values: dict[str, str]) -> dict[Role, str]:
    """The warehouse logins' passwords among the local secrets."""
    return {role: values[name] for role, name in LOGIN_SECRETS.items()}
