"""The environment Airflow runs in for the embedded deployment (`monitor run`, tests, benchmarks).

Airflow reads its configuration from `AIRFLOW__SECTION__KEY` variables; keeping them here (not in
an airflow.cfg) means every Airflow process we start - the scheduler, dag-processor, triggerer,
API server, Celery workers, `dags test` - sees the same settings. Its metadata lives in its own
database on the same PostgreSQL server. The LocalExecutor runs tasks as children of the
scheduler; with `celery_broker` the CeleryExecutor hands them to workers through the broker
(results in the metadata database).
"""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import REPO_ROOT
from monitor.login_rate_limit import DEFAULT_LIMIT

API_PORT = 8080
PLUGINS_DIR = Path(__file__).with_name("airflow_plugins")
AUTH_RATE_LIMIT = DEFAULT_LIMIT  # login POSTs per client address (Flask-Limiter notation)


def airflow_env(
    *,
    home: Path,
    metadata_url: str,
    warehouse_url: str,
    admin_password: str,
    jwt_secret: str,
    api_port: int = API_PORT,
    log_server_ports: tuple[int, int] = (8793, 8794),
    celery_broker: str | None = None,
    parallelism: int = 2,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """`log_server_ports`: where the task runner (scheduler or worker) and the triggerer serve
    their logs to the API server; each running stack on a machine needs its own."""
    airflow_home = home / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    passwords = airflow_home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({"admin": admin_password}))
    passwords.chmod(0o600)
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if celery_broker else "LocalExecutor",
        # 2 cores: a handful of tasks at once is all this machine can take.
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallelism),
        # Only the production chain runs; the DAGs stay paused until `monitor run` unpauses them.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_server_ports[0]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_server_ports[1]),
        # Tasks talk to the API server's execution API; on 2 busy cores its answers can take
        # longer than the default 5 s, which fails the task before it starts.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        # A new file in dags/ is seen within a minute, not five.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        # Without this, tasks look for the execution API on the default port and all fail.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        # Password logins are rate limited as in the deployment (its FAB auth manager reads the
        # same options); for the simple auth manager the plugin in monitor/airflow_plugins/
        # applies them (monitor.login_rate_limit).
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__FAB__AUTH_RATE_LIMITED": "True",
        "AIRFLOW__FAB__AUTH_RATE_LIMIT": AUTH_RATE_LIMIT,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos_cache"),
        # build_warehouse renders dbt with `dbt ls` when no manifest exists yet (first parse,
        # cached after): on 2 busy cores that can exceed the default 30 s import timeout.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        "GX_ANALYTICS_ENABLED": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "MONITOR_WAREHOUSE_URL": warehouse_url,
        "MONITOR_HOME": str(home),
    }
    if celery_broker:
        env["AIRFLOW__CELERY__BROKER_URL"] = celery_broker
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + metadata_url
        env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = "1"
    env.update(extra or {})
    return env
