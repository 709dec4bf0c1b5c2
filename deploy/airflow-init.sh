#!/usr/bin/env bash
# One-shot initialisation of the Airflow deployment (service `airflow-init`). Idempotent: safe to
# run on every `docker compose up`.
#   1. migrates the Airflow metadata database (including the FAB auth manager tables),
#   2. creates the admin user if it does not exist,
#   3. applies the warehouse migrations (core/migrations, under an advisory lock).
set -euo pipefail

: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is required}"
: "${MONITOR_WAREHOUSE_URL:?MONITOR_WAREHOUSE_URL is required}"

echo "airflow-init: $(airflow version)"

echo "airflow-init: migrating the Airflow metadata database"
airflow db migrate

case "${AIRFLOW__CORE__AUTH_MANAGER:-}" in
  *FabAuthManager)
    echo "airflow-init: ensuring admin user '${AIRFLOW_ADMIN_USERNAME:-admin}'"
    # Prints "already exist" and succeeds when the user is there.
    airflow users create \
      --username "${AIRFLOW_ADMIN_USERNAME:-admin}" \
      --password "$AIRFLOW_ADMIN_PASSWORD" \
      --firstname Admin --lastname Monitor \
      --email "${AIRFLOW_ADMIN_EMAIL:-admin@example.org}" \
      --role Admin
    ;;
  *)
    echo "airflow-init: auth manager ${AIRFLOW__CORE__AUTH_MANAGER:-<default>} manages its own users"
    ;;
esac

echo "airflow-init: applying warehouse migrations"
python - <<'PY'
import os

from core.migrate import migrate

applied = migrate(os.environ["MONITOR_WAREHOUSE_URL"])
print("airflow-init: warehouse migrations applied now:", ", ".join(applied) or "none (up to date)")
PY

echo "airflow-init: done"
