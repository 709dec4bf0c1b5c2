"""Login rate limiting of the Airflow API server, in the local run (simple auth manager and the
plugin of monitor/airflow_plugins/) and in the compose deployment (FAB's own `[fab]` options).
The Superset side is tested against the real Superset in tests/superset."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from monitor.airflow_env import AUTH_RATE_LIMIT, PLUGINS_DIR, airflow_env
from monitor.login_rate_limit import LoginRateLimit, parse_limit

ROOT = Path(__file__).resolve().parents[2]


def test_limits_parse_as_flask_limiter_writes_them() -> None:
    assert parse_limit("5 per 40 second") == (5, 40)
    assert parse_limit("10 per minute") == (10, 60)
    assert parse_limit("3/hour") == (3, 3600)
    for bad in ("", "five per second", "0 per second", "5 per fortnight"):
        with pytest.raises(ValueError):
            parse_limit(bad)


def test_login_posts_past_the_limit_get_429_until_the_window_passes() -> None:
    now = [1000.0]
    app = FastAPI()

    @app.post("/auth/token")
    def token() -> dict:
        return {"ok": True}

    @app.get("/auth/token")
    def token_page() -> dict:
        return {"page": True}

    @app.post("/api/v2/dags")
    def dags() -> dict:
        return {"other": True}

    app.add_middleware(LoginRateLimit, limit="3 per 10 second", clock=lambda: now[0])
    client = TestClient(app)
    assert [client.post("/auth/token").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.post("/auth/token")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "10"
    assert client.post("/auth/token/").status_code == 429  # the same endpoint
    # Only login POSTs count.
    assert client.get("/auth/token").status_code == 200
    assert client.post("/api/v2/dags").status_code == 200
    # Another address has its own budget.
    elsewhere = TestClient(app, client=("10.0.0.2", 1234))
    assert elsewhere.post("/auth/token").status_code == 200
    now[0] += 10  # the next window
    assert client.post("/auth/token").status_code == 200


def test_the_local_run_and_the_deployment_set_the_limit(tmp_path: Path) -> None:
    env = airflow_env(
        home=tmp_path, metadata_url="postgresql://x@/x", warehouse_url="postgresql://x@/x",
        admin_password="pw", jwt_secret="s" * 32,
    )  # fmt: skip
    assert env["AIRFLOW__FAB__AUTH_RATE_LIMITED"] == "True"
    assert env["AIRFLOW__FAB__AUTH_RATE_LIMIT"] == AUTH_RATE_LIMIT == "5 per 40 second"
    assert Path(env["AIRFLOW__CORE__PLUGINS_FOLDER"]) == PLUGINS_DIR
    assert (PLUGINS_DIR / "login_rate_limit.py").is_file()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    common = compose["x-airflow-common"]["environment"]
    assert common["AIRFLOW__FAB__AUTH_RATE_LIMITED"] == "True"
    assert common["AIRFLOW__FAB__AUTH_RATE_LIMIT"] == "${AIRFLOW_AUTH_RATE_LIMIT:-5 per 40 second}"
    assert common["AIRFLOW__CORE__AUTH_MANAGER"].endswith(":-airflow.providers.fab.auth_manager."
                                                          "fab_auth_manager.FabAuthManager}")  # fmt: skip
    assert common["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/monitor/monitor/airflow_plugins"


# The real API server app of the local run, in a process of its own (Airflow reads its
# configuration at import), answering through an in-process client: no metadata database is
# touched by the simple auth manager's logins.
REAL_APP = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from monitor.airflow_env import airflow_env
    os.environ.update(airflow_env(
        home=Path(sys.argv[1]), metadata_url="postgresql+psycopg2://x@127.0.0.1:9/x",
        warehouse_url="postgresql://x@/x", admin_password="the-password", jwt_secret="s" * 40,
    ))
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient
    client = TestClient(create_app())
    codes = [client.post("/auth/token", json={"username": "admin", "password": p}).status_code
             for p in ["the-password"] + ["wrong"] * 5 + ["the-password"]]
    print("CODES " + json.dumps(codes))
    """
)


@pytest.mark.slow
def test_the_local_api_server_refuses_logins_past_the_limit(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", REAL_APP, str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("CODES ")]
    assert lines, result.stderr[-3000:]
    codes = json.loads(lines[-1][len("CODES ") :])
    # One right login, four wrong ones, then the limit of 5 per 40 s: the right password too.
    assert codes == [201, 401, 401, 401, 401, 429, 429], codes
