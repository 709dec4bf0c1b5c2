# syntax=docker/dockerfile:1.7
# Superset 6.1 image of the European Monitor on Urban Integration. Superset needs SQLAlchemy < 2,
# so it has its own image and its own lock (requirements/superset.lock).
# Build from the repository root:  docker compose build  (or)
#   docker build -f deploy/superset.Dockerfile -t emui/superset:local .
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9
FROM ${UV_IMAGE} AS uv

# The dbt manifest: the Superset bootstrap documents its datasets from it (core.publications).
# `dbt parse` reads the project only; the connection settings below are never used.
FROM python:3.11-slim AS manifest
COPY --from=uv /uv /usr/local/bin/uv
COPY requirements/main.lock /build/main.lock
RUN uv pip install --system --no-cache \
      $(grep -E '^(dbt-core|dbt-postgres|dbt-adapters)==' /build/main.lock)
COPY dbt/ /build/dbt/
RUN cd /build/dbt && DBT_PG_HOST=unused DBT_PG_USER=unused DBT_PG_DBNAME=unused \
      dbt parse --profiles-dir . --target-path target --no-partial-parse \
    && test -s target/manifest.json

FROM python:3.11-slim

COPY --from=uv /uv /usr/local/bin/uv

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    SUPERSET_HOME=/app/superset_home \
    SUPERSET_CONFIG_PATH=/opt/monitor/superset/superset_config.py \
    DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false

RUN groupadd --system --gid 1000 superset \
    && useradd --system --uid 1000 --gid superset --home-dir /app --shell /usr/sbin/nologin superset \
    && mkdir -p /app/superset_home \
    && chown -R superset:superset /app

COPY requirements/superset.lock /app/requirements/superset.lock
RUN uv venv --python /usr/local/bin/python3.11 /app/.venv \
    && uv pip install --no-cache --python /app/.venv/bin/python -r /app/requirements/superset.lock \
    && /app/.venv/bin/python -c "import superset, psycopg2, flask_caching"

# The project's Superset folder (config, dashboards as code, bootstrap). Kept outside the working
# directory so that it can never shadow the installed `superset` package on sys.path.
COPY --chown=superset:superset superset/ /opt/monitor/superset/
# What the bootstrap reads besides: the publications reader (standard library only), the users
# and ministries, and the manifest built above.
COPY --chown=superset:superset core/__init__.py core/publications.py core/settings.py \
     /opt/monitor/core/
COPY --chown=superset:superset config/superset.yml /opt/monitor/config/superset.yml
COPY --from=manifest --chown=superset:superset /build/dbt/target/manifest.json \
     /opt/monitor/dbt/target/manifest.json
COPY --chown=superset:superset deploy/superset-init.sh /opt/monitor/deploy/superset-init.sh

USER superset
WORKDIR /app
EXPOSE 8088
