"""Failure alerts: a task that fails for good, run by real Airflow (`airflow dags test`), calls
the DAGs' shared `on_failure_callback`, which POSTs the alert to a webhook and e-mails it, here to
an HTTP server and an SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from aiosmtpd.controller import Controller

from core.db import PgParams, drop_database, ensure_database
from monitor.airflow_env import airflow_env
from monitor.stack import free_port

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).parent / "airflow")

PROBE_DAG = """
from datetime import datetime

from airflow.sdk import dag, task

from monitor.orchestration import default_args


@dag(dag_id="alert_probe", schedule=None, start_date=datetime(2026, 1, 1), tags=["test"],
     default_args=default_args("operations", retries=0))
def alert_probe():
    @task
    def fails():
        raise RuntimeError("the probe failed on purpose")

    fails()


alert_probe()
"""


class Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {"content_type": self.headers["Content-Type"], **json.loads(body)}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.mark.timeout(600)
def test_a_failed_task_alerts_by_webhook_and_e_mail(
    warehouse_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "alert_probe.py").write_text(PROBE_DAG)
    Webhook.received = []
    http = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    meta_db = f"airflow_test_{uuid.uuid4().hex[:8]}"
    meta = PgParams.from_url(ensure_database(pg_admin_url, meta_db)).url(driver="psycopg2")
    try:
        env = {
            **os.environ,
            **airflow_env(
                home=tmp_path / "home",
                metadata_url=meta,
                warehouse_url=warehouse_url,
                admin_password="test",
                jwt_secret="test-jwt-secret-" + "x" * 32,
            ),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "MONITOR_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{http.server_port}/hooks/monitor",
            "MONITOR_ALERT_EMAILS": "oncall@example.org, data@example.org",
            "MONITOR_ALERT_SMTP": f"127.0.0.1:{smtp.port}",
        }
        migrated = subprocess.run(
            [AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True
        )
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        run = subprocess.run(
            [AIRFLOW, "dags", "test", "alert_probe"], env=env, capture_output=True, text=True
        )
        out = run.stdout + run.stderr
        assert "the probe failed on purpose" in out, out[-4000:]
    finally:
        http.shutdown()
        smtp.stop()
        drop_database(pg_admin_url, meta_db)

    assert len(Webhook.received) == 1, out[-4000:]
    alert = Webhook.received[0]
    assert alert["content_type"] == "application/json"
    assert alert["event"] == "task_failed"
    assert (alert["dag_id"], alert["task_id"]) == ("alert_probe", "fails")
    assert alert["error"] == "RuntimeError: the probe failed on purpose"
    assert alert["run_id"]
    assert len(mailbox.messages) == 1
    mail = message_from_bytes(mailbox.messages[0], policy=policy.default)
    assert mail["Subject"] == "[monitor] alert_probe.fails failed"
    assert mail["To"] == "oncall@example.org, data@example.org"
    assert json.loads(mail.get_content())["error"] == alert["error"]
