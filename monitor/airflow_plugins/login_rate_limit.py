"""Airflow plugin (this folder is the local run's `[core] plugins_folder`): the API server's
password logins get the limit of `[fab] auth_rate_limited` / `auth_rate_limit` when the FAB auth
manager, which enforces them itself, is not the one in use (see `monitor.login_rate_limit`)."""

from __future__ import annotations

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from monitor.login_rate_limit import DEFAULT_LIMIT, LoginRateLimit


def _middlewares() -> list[dict]:
    fab = "FabAuthManager" in conf.get("core", "auth_manager", fallback="")
    if fab or not conf.getboolean("fab", "auth_rate_limited", fallback=True):
        return []
    limit = conf.get("fab", "auth_rate_limit", fallback=DEFAULT_LIMIT)
    return [{"name": "login_rate_limit", "middleware": LoginRateLimit, "kwargs": {"limit": limit}}]


class LoginRateLimitPlugin(AirflowPlugin):
    name = "monitor_login_rate_limit"
    fastapi_root_middlewares = _middlewares()
