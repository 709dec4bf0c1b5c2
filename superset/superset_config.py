"""Superset configuration for the European Monitor on Urban Integration.

Loaded by Superset through ``SUPERSET_CONFIG_PATH`` (set by ``superset/bootstrap.py`` and
``monitor/superset_service.py``). Everything machine-specific comes from the environment:

- ``SUPERSET_HOME``: state folder (metadata SQLite database, secret key file, logs).
- ``SUPERSET_SECRET_KEY``: Flask secret key. When unset, the key stored in
  ``$SUPERSET_HOME/secret_key`` (created by the bootstrap) is used.
- ``SUPERSET_METADATA_URI``: optional metadata database URI (defaults to SQLite in the home).
- ``SUPERSET_DATA_CACHE``, ``SUPERSET_CACHE_REDIS_URL``, ``SUPERSET_CACHE_TIMEOUT``: the chart
  results cache (below).
- ``SUPERSET_AUTH_RATE_LIMIT``, ``SUPERSET_RATELIMIT_STORAGE_URI``: login rate limiting (below).

Telemetry is off: the front end's tracking pixel is blocked by the Content Security Policy
(only ``'self'`` is allowed), and no other outbound host is whitelisted.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = os.environ.get("SUPERSET_HOME") or str(Path.home() / ".superset")
Path(DATA_DIR).mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("SUPERSET_SECRET_KEY", "").strip()
    if key:
        return key
    key_file = Path(DATA_DIR) / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    raise RuntimeError(
        f"No Superset secret key: set SUPERSET_SECRET_KEY or run superset/bootstrap.py "
        f"(it writes {key_file})"
    )


SECRET_KEY = _secret_key()

SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_URI") or (
    f"sqlite:///{os.path.join(DATA_DIR, 'superset.db')}?check_same_thread=false"
)

FEATURE_FLAGS = {
    # Dashboard access is granted through dashboard roles (the read-only "Analyst" role).
    "DASHBOARD_RBAC": True,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
}

# Small machine: no async queries, no Celery, no results backend.
ROW_LIMIT = 50000
SUPERSET_WEBSERVER_TIMEOUT = 120
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}


def _data_cache() -> dict:
    """Chart results cache: Redis when ``SUPERSET_CACHE_REDIS_URL`` is set (several workers or
    hosts), else files in ``$SUPERSET_HOME/cache``; ``SUPERSET_DATA_CACHE=none`` turns it off.
    A result is kept ``SUPERSET_CACHE_TIMEOUT`` seconds (default 3600): the marts change once
    per publication, and a chart's "Force refresh" bypasses it."""
    timeout = int(os.environ.get("SUPERSET_CACHE_TIMEOUT", "3600"))
    common = {"CACHE_DEFAULT_TIMEOUT": timeout, "CACHE_KEY_PREFIX": "emui_data_"}
    if os.environ.get("SUPERSET_DATA_CACHE", "").lower() == "none":
        return {"CACHE_TYPE": "NullCache"}
    if os.environ.get("SUPERSET_CACHE_REDIS_URL"):
        return {**common, "CACHE_TYPE": "RedisCache",
                "CACHE_REDIS_URL": os.environ["SUPERSET_CACHE_REDIS_URL"]}  # fmt: skip
    return {
        **common,
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": os.path.join(DATA_DIR, "cache"),
        "CACHE_THRESHOLD": 5000,
    }


DATA_CACHE_CONFIG = _data_cache()

# Login rate limiting, in the local run as in the deployment (Flask-Limiter through Flask-AppBuilder;
# Superset enables it only when SUPERSET_ENV=production). Every POST to the login form and to the
# REST login, failed or not, counts against the client address: after AUTH_RATE_LIMIT the answer is
# HTTP 429 until the window passes, which makes guessing a password slow. The counters live in the
# process (memory://, enough for the one gunicorn worker of `monitor run`) unless
# SUPERSET_RATELIMIT_STORAGE_URI names a shared store (the compose deployment's Redis), so several
# workers count together. The application-wide limit is Superset's own.
RATELIMIT_ENABLED = True
AUTH_RATE_LIMITED = True
AUTH_RATE_LIMIT = os.environ.get("SUPERSET_AUTH_RATE_LIMIT", "5 per 40 second")
RATELIMIT_STORAGE_URI = os.environ.get("SUPERSET_RATELIMIT_STORAGE_URI", "memory://")
RATELIMIT_APPLICATION = "50 per second"
# Flask-AppBuilder limits the blueprint of the auth view it registers first (Superset's page
# view, GET only), not the view that checks the password: POST /login/ (AuthDBView) and the REST
# login /api/v1/security/login get the limit here, once the app has them.
LOGIN_ENDPOINTS = ("AuthDBView.login", "SecurityApi.login")


def FLASK_APP_MUTATOR(app) -> None:  # the name Superset looks for
    limit = app.appbuilder.sm.limiter.limit(AUTH_RATE_LIMIT, methods=["POST"])
    for endpoint in LOGIN_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is None:
            raise RuntimeError(f"Superset has no login view {endpoint}: rate limiting not applied")
        app.view_functions[endpoint] = limit(view)


# No outbound traffic from the browser: only 'self' (this also blocks the telemetry pixel).
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False

# Served on loopback behind nothing: plain HTTP session cookies.
SESSION_COOKIE_SECURE = False
SESSION_COOKIE_SAMESITE = "Lax"
WTF_CSRF_ENABLED = True
