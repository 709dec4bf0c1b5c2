"""Alerting of a failed quality gate: an Airflow on_failure_callback that logs the failure and
records it in quality.alerts (where the data-quality dashboard and on-call read it)."""

from __future__ import annotations

import logging

from core.db import Role, connection
from core.settings import load_settings

log = logging.getLogger(__name__)


def record_alert(url: str, message: str, *, dag_id=None, task_id=None, run_id=None) -> None:
    with connection(url, role=Role.GATE) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO quality.alerts (dag_id, task_id, run_id, gate_run_id, message) "
            "VALUES (%s, %s, %s, (SELECT gate_run_id FROM quality.gate_runs "
            "ORDER BY started_at DESC LIMIT 1), %s)",
            (dag_id, task_id, run_id, message[:4000]),
        )


def on_gate_failure(context) -> None:
    ti = context.get("task_instance")
    message = f"quality gate failed: {context.get('exception')}"
    log.error("ALERT %s", message)
    url = load_settings().warehouse_url
    if url:
        try:
            record_alert(
                url,
                message,
                dag_id=getattr(ti, "dag_id", None),
                task_id=getattr(ti, "task_id", None),
                run_id=getattr(ti, "run_id", None),
            )
        except Exception:  # an alert must never mask the failure it reports
            log.exception("could not record the alert in quality.alerts")
