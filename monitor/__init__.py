"""The application on top of the stages: the `monitor` CLI, the pipeline composition, Airflow and
Superset process control, and what the DAGs share (assets, retry policies)."""
