# syntax=docker/dockerfile:1.7
# Airflow image of the European Monitor on Urban Integration: the official Airflow 3 image plus the
# locked dependencies (requirements/main.lock) and the project's packages.
# Build from the repository root:  docker compose build  (or)
#   docker build -f deploy/airflow.Dockerfile -t emui/airflow:local .
FROM apache/airflow:3.3.2-python3.11

# torch==2.13.0+cpu in the lock is a CPU build served by the PyTorch CPU index, not by PyPI.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV MONITOR_ROOT=/opt/monitor \
    DO_NOT_TRACK=1 \
    GX_ANALYTICS_ENABLED=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    AIRFLOW__COSMOS__CACHE_DIR=/opt/airflow/cache/cosmos \
    MONITOR_HOME=/opt/airflow/monitor-home

USER root
# Writable state owned by the airflow user; named volumes mounted here inherit the ownership.
RUN mkdir -p /opt/monitor /opt/airflow/cache/cosmos /opt/airflow/monitor-home \
    && chown -R airflow:0 /opt/monitor /opt/airflow/cache /opt/airflow/monitor-home \
    && chmod -R g+rwX /opt/monitor /opt/airflow/cache /opt/airflow/monitor-home
USER airflow

# Dependencies first (cached until the lock changes). Pinning apache-airflow to the image's version
# makes the build fail loudly if the lock ever disagrees with the base image.
COPY --chown=airflow:0 requirements/main.lock /opt/monitor/requirements/main.lock
RUN uv pip install --no-cache \
        --extra-index-url "${TORCH_INDEX_URL}" --index-strategy unsafe-best-match \
        "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/monitor/requirements/main.lock

# The project: packages, dbt project and DAG files (DAGs are baked in, not mounted).
COPY --chown=airflow:0 pyproject.toml /opt/monitor/pyproject.toml
COPY --chown=airflow:0 monitor/ /opt/monitor/monitor/
COPY --chown=airflow:0 extractors/ /opt/monitor/extractors/
COPY --chown=airflow:0 classifiers/ /opt/monitor/classifiers/
COPY --chown=airflow:0 expectations/ /opt/monitor/expectations/
COPY --chown=airflow:0 dbt/ /opt/monitor/dbt/
COPY --chown=airflow:0 dags/ /opt/monitor/dags/
COPY --chown=airflow:0 deploy/airflow-init.sh /opt/monitor/deploy/airflow-init.sh

# Editable install: the `monitor` CLI is on PATH and the packages resolve their data (dbt project,
# migrations, suites) under /opt/monitor, as in a checkout.
RUN uv pip install --no-cache --no-deps -e /opt/monitor \
    && if [ -f /opt/monitor/dbt/packages.yml ] || [ -f /opt/monitor/dbt/dependencies.yml ]; then \
         cd /opt/monitor/dbt && dbt deps; \
       fi

# Fail the build, not the first DAG run, when something the deployment needs is missing.
RUN python -c "import airflow.providers.celery, airflow.providers.fab, airflow.providers.postgres, cosmos, great_expectations, monitor, extractors, classifiers, expectations" \
    && airflow version

WORKDIR /opt/airflow
