#!/usr/bin/env bash
# Creates the three databases of the deployment and their owners. Run by the postgres image
# (/docker-entrypoint-initdb.d) once, when the data volume is empty; later changes to the
# passwords must be made with ALTER ROLE.
#
#   airflow   Airflow metadata (owner: airflow)
#   superset  Superset metadata (owner: superset)
#   monitor   the warehouse (owner: monitor). The project's migrations (run by airflow-init)
#             create the schemas and the least-privilege roles monitor_loader, monitor_transformer,
#             monitor_bi and monitor_extracts, hence CREATEROLE; createrole_self_grant lets the
#             owner act for the roles it creates (ALTER DEFAULT PRIVILEGES FOR ROLE ...).
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is required}"
: "${SUPERSET_DB_PASSWORD:?SUPERSET_DB_PASSWORD is required}"
: "${WAREHOUSE_DB_PASSWORD:?WAREHOUSE_DB_PASSWORD is required}"

# psql substitutes :'var' as a quoted literal and :"var" as a quoted identifier, so passwords
# never need escaping here.
psql --set ON_ERROR_STOP=1 --no-psqlrc \
  --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  --set airflow_pw="$AIRFLOW_DB_PASSWORD" \
  --set superset_pw="$SUPERSET_DB_PASSWORD" \
  --set warehouse_pw="$WAREHOUSE_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_pw';
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;

CREATE ROLE superset LOGIN PASSWORD :'superset_pw';
CREATE DATABASE superset OWNER superset;
REVOKE ALL ON DATABASE superset FROM PUBLIC;

CREATE ROLE monitor LOGIN CREATEROLE PASSWORD :'warehouse_pw';
ALTER ROLE monitor SET createrole_self_grant = 'set, inherit';
CREATE DATABASE monitor OWNER monitor;
REVOKE ALL ON DATABASE monitor FROM PUBLIC;
SQL

echo "init-databases: created databases airflow, superset, monitor"
