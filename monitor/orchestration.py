"""What the DAGs share: the assets they exchange, their retry policies and failure alerts.

One definition per asset, so that the DAG that emits one and the DAGs scheduled on it cannot
drift apart. Asset URIs have the shape postgres://<host>/<database>/<schema>/<table> that the
postgres provider validates. Only DAG files (and their tests) import this module.

    ingest_social ──raw_posts──▶ classify_posts ──post_classifications──▶ build_warehouse
    ingest_statistics ──official_statistics──────────────────────────────▶ build_warehouse
    build_warehouse ──published_mart_city_area_daily──▶ (consumers: extracts, Superset)

Every task reports its failure (after its last retry) through `on_failure`: to the webhook of
MONITOR_ALERT_WEBHOOK_URL (a JSON POST, e.g. a chat's incoming webhook) and/or by e-mail to
MONITOR_ALERT_EMAILS through MONITOR_ALERT_SMTP; always to the task log.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from airflow.sdk import Asset

from core.settings import Settings, load_settings

log = logging.getLogger(__name__)

RAW_POSTS = Asset(name="raw_posts", uri="postgres://warehouse/monitor/raw/posts")
POST_CLASSIFICATIONS = Asset(
    name="post_classifications", uri="postgres://warehouse/monitor/ml/classified_posts"
)
OFFICIAL_STATISTICS = Asset(
    name="official_statistics", uri="postgres://warehouse/monitor/raw/statistics_observations"
)
PUBLISHED_MARTS = Asset(
    name="published_mart_city_area_daily",
    uri="postgres://warehouse/monitor/published/mart_city_area_daily",
)

ALERT_TIMEOUT_S = 10


def io_retries(max_delay: timedelta, *, retries: int = 3, first: timedelta = timedelta(minutes=1)):
    """Retries for tasks that talk to networks or services (APIs, the warehouse): exponential
    backoff from `first`, capped at `max_delay`."""
    return {
        "retries": retries,
        "retry_delay": first,
        "retry_exponential_backoff": True,
        "max_retry_delay": max_delay,
    }


def alert_payload(context: dict[str, Any]) -> dict[str, Any]:
    """What an alert says: which task of which run failed, how, and where its log is."""
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    return {
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", -1),
        "run_id": getattr(ti, "run_id", None) or context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "error": f"{type(exception).__name__}: {exception}" if exception else None,
        "log_url": getattr(ti, "log_url", None),
    }


def send_alert(payload: dict[str, Any], settings: Settings | None = None) -> list[str]:
    """Deliver one alert to every configured channel; return the channels it reached. A channel
    that fails is logged, never raised: an alert must not mask the failure it reports."""
    settings = settings or load_settings()
    reached = []
    if settings.alert_webhook_url:
        request = urllib.request.Request(  # noqa: S310 - an operator-configured URL
            settings.alert_webhook_url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=ALERT_TIMEOUT_S):  # noqa: S310
                reached.append("webhook")
        except OSError:
            log.exception("alert webhook %s failed", settings.alert_webhook_url)
    if settings.alert_emails and settings.alert_smtp:
        host, _, port = settings.alert_smtp.partition(":")
        message = EmailMessage()
        message["Subject"] = f"[monitor] {payload['dag_id']}.{payload['task_id']} failed"
        message["From"] = settings.alert_from
        message["To"] = ", ".join(settings.alert_emails)
        message.set_content(json.dumps(payload, indent=2))
        try:
            with smtplib.SMTP(host, int(port or 25), timeout=ALERT_TIMEOUT_S) as smtp:
                smtp.send_message(message)
                reached.append("email")
        except (OSError, smtplib.SMTPException):
            log.exception("alert e-mail through %s failed", settings.alert_smtp)
    return reached


def on_failure(context: dict[str, Any]) -> None:
    """`on_failure_callback` of every task: runs once a task has failed for good."""
    payload = alert_payload(context)
    log.error("ALERT %s", json.dumps(payload))
    send_alert(payload)


def default_args(owner: str, **extra: Any) -> dict[str, Any]:
    """A DAG's default_args: its owner, failure alerts, then its retry policy."""
    return {"owner": owner, "on_failure_callback": on_failure, **extra}
