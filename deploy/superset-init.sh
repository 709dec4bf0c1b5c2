#!/usr/bin/env bash
# One-shot initialisation of Superset (service `superset-init`). Idempotent.
#   1. migrates the Superset metadata database,
#   2. creates the admin user if it does not exist,
#   3. creates the default roles and permissions,
#   4. imports the dashboards and syncs roles, row-level security and logins
#      (superset/bootstrap.py) when SUPERSET_WAREHOUSE_URI is set,
#   5. runs SUPERSET_BOOTSTRAP_COMMAND when set.
set -euo pipefail

: "${SUPERSET_ADMIN_PASSWORD:?SUPERSET_ADMIN_PASSWORD is required}"

echo "superset-init: migrating the Superset metadata database"
superset db upgrade

echo "superset-init: ensuring admin user '${SUPERSET_ADMIN_USERNAME:-admin}'"
superset fab create-admin \
  --username "${SUPERSET_ADMIN_USERNAME:-admin}" \
  --password "$SUPERSET_ADMIN_PASSWORD" \
  --firstname Admin --lastname Monitor \
  --email "${SUPERSET_ADMIN_EMAIL:-admin@example.org}"

echo "superset-init: syncing roles and permissions"
superset init

if [[ -n "${SUPERSET_WAREHOUSE_URI:-}" ]]; then
  # Datasets, charts, dashboards, roles, row-level security and logins (superset/bootstrap.py);
  # idempotent. Logins' passwords: SUPERSET_PASSWORD_<LOGIN>, else generated into
  # $SUPERSET_HOME/passwords.env.
  echo "superset-init: bootstrapping dashboards, roles and logins"
  # URIs and the admin password reach it through the environment, not the process list.
  python /opt/monitor/superset/bootstrap.py --home "$SUPERSET_HOME"
else
  echo "superset-init: SUPERSET_WAREHOUSE_URI not set: no dashboards imported"
fi

if [[ -n "${SUPERSET_BOOTSTRAP_COMMAND:-}" ]]; then
  echo "superset-init: running bootstrap: ${SUPERSET_BOOTSTRAP_COMMAND}"
  bash -c "$SUPERSET_BOOTSTRAP_COMMAND"
fi

echo "superset-init: done"
