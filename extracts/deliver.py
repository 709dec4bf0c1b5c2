"""Delivery of a package to its destinations, with retries and a receipt in the delivery log.

* SFTP (asyncssh): the package is uploaded under a temporary name in the target folder and
  renamed once complete, so the final name never shows a partial file, even when the upload is
  killed; the host key is checked against a known_hosts file.
* E-mail (SMTP, STARTTLS or TLS when the connection asks): the package attached or, above the
  destination's size limit, a link to where it can be fetched.
* Folder: written under a temporary name and renamed, likewise.

Credentials come from the environment variable each destination names (an Airflow connection
URI). Each attempt that fails is retried with exponential backoff; the delivery log
(`extracts.deliveries`) records the package's checksum, status, attempts and last error per
destination, so a package already delivered to a destination is never sent there again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from core.db import Role, connection
from core.settings import load_settings
from extracts.config import EmailDestination, FolderDestination, SftpDestination
from extracts.package import Built

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """A destination refused the package after every retry; the message names it."""


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_delay_s: float = 2.0
    max_delay_s: float = 60.0


@dataclass(frozen=True)
class Job:
    subscriber: str
    kind: str
    interval_start: str
    interval_end: str
    gate_run_id: str
    package: Built
    body: str  # the e-mail text: the package's README or the digest


def _uri(env_name: str) -> tuple:
    value = os.environ.get(env_name)
    if not value:
        raise DeliveryError(
            f"environment variable {env_name} (the destination's connection) is not set"
        )
    parts = urlsplit(value)
    return parts, {k: v[-1] for k, v in parse_qs(parts.query).items()}


def send_sftp(dest: SftpDestination, built: Built) -> str:
    import asyncssh

    parts, extra = _uri(dest.connection)
    folder = dest.path or unquote(parts.path) or "."
    final = str(PurePosixPath(folder) / built.name)
    temp = str(PurePosixPath(folder) / f".{built.name}.part")
    known_hosts = dest.known_hosts or extra.get("known_hosts") or ()

    async def upload() -> None:
        async with (
            asyncssh.connect(
                parts.hostname,
                port=parts.port or 22,
                username=unquote(parts.username or ""),
                password=unquote(parts.password) if parts.password else None,
                client_keys=[extra["key_file"]] if "key_file" in extra else None,
                known_hosts=known_hosts if known_hosts else None,
                connect_timeout=30,
            ) as conn,
            conn.start_sftp_client() as sftp,
        ):
            await sftp.put(str(built.path), temp)
            if await sftp.exists(final):
                await sftp.remove(final)
            try:
                await sftp.posix_rename(temp, final)
            except asyncssh.SFTPOpUnsupported:
                await sftp.rename(temp, final)
            size = (await sftp.stat(final)).size
            if size != built.size:
                raise DeliveryError(f"sftp {final}: {size} bytes arrived, {built.size} sent")

    asyncio.run(upload())
    return f"sftp://{parts.hostname}:{parts.port or 22}{final}"


def send_email(dest: EmailDestination, built: Built, *, subject: str, body: str) -> str:
    parts, extra = _uri(dest.connection)
    msg = EmailMessage()
    msg["From"] = dest.sender
    msg["To"] = ", ".join(dest.to)
    msg["Subject"] = subject
    msg["X-Package-SHA256"] = built.sha256
    if built.size <= dest.max_attachment_bytes:
        msg.set_content(body)
        msg.add_attachment(
            built.path.read_bytes(), maintype="application", subtype="zip", filename=built.name
        )
    else:
        where = (dest.link or "").rstrip("/")
        link = f"{where}/{built.name}" if where else built.name
        msg.set_content(
            f"{body}\n\nThe package ({built.size} bytes) is too large to attach: fetch it at "
            f"{link} (SHA-256 {built.sha256}).\n"
        )
    port = parts.port or (465 if extra.get("ssl") == "true" else 25)
    cls = smtplib.SMTP_SSL if extra.get("ssl") == "true" else smtplib.SMTP
    with cls(parts.hostname, port, timeout=60) as smtp:
        if extra.get("starttls") == "true":
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        refused = smtp.send_message(msg)
    if refused:
        raise DeliveryError(f"smtp {parts.hostname}: recipients refused {sorted(refused)}")
    return f"smtp://{parts.hostname}:{port} to {', '.join(dest.to)}"


def send_folder(dest: FolderDestination, built: Built) -> str:
    folder = dest.path if dest.path.is_absolute() else outbox() / dest.path
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{built.name}.part"
    shutil.copyfile(built.path, temp)
    temp.replace(folder / built.name)
    return str(folder / built.name)


def outbox() -> Path:
    return load_settings().home / "extracts" / "outbox"


def with_retries(
    send: Callable[[], str], retry: Retry, on_attempt: Callable[[int, str | None], None]
) -> str:
    delay = retry.first_delay_s
    for attempt in range(1, retry.attempts + 1):
        try:
            receipt = send()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            on_attempt(attempt, error)
            log.warning("delivery attempt %d/%d failed: %s", attempt, retry.attempts, error)
            if attempt == retry.attempts:
                raise DeliveryError(error) from exc
            time.sleep(delay)
            delay = min(delay * 2, retry.max_delay_s)
        else:
            on_attempt(attempt, None)
            return receipt
    raise AssertionError("unreachable")


def destination_id(dest) -> str:
    return f"{dest.type}:{dest.name}"


def logged_status(url: str, job: Job, dest_id: str) -> str | None:
    with connection(url, role=Role.EXTRACTS) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status FROM extracts.deliveries WHERE subscriber = %s AND destination = %s "
            "AND package_sha256 = %s",
            (job.subscriber, dest_id, job.package.sha256),
        )
        row = cur.fetchone()
        return row[0] if row else None


def _upsert(url: str, job: Job, dest_id: str) -> int:
    with connection(url, role=Role.EXTRACTS) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO extracts.deliveries (subscriber, kind, interval_start, interval_end, "
            "destination, package_name, package_sha256, package_bytes, gate_run_id, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending') "
            "ON CONFLICT (subscriber, destination, package_sha256) DO UPDATE "
            "SET updated_at = now() RETURNING delivery_id",
            (
                job.subscriber,
                job.kind,
                job.interval_start,
                job.interval_end,
                dest_id,
                job.package.name,
                job.package.sha256,
                job.package.size,
                job.gate_run_id,
            ),
        )
        return cur.fetchone()[0]


def _attempted(url: str, delivery_id: int, error: str | None, receipt: str | None = None) -> None:
    with connection(url, role=Role.EXTRACTS) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE extracts.deliveries SET attempts = attempts + 1, updated_at = now(), "
            "status = CASE WHEN %s IS NULL THEN 'delivered' ELSE 'failed' END, "
            "error = %s, receipt = coalesce(%s, receipt), "
            "delivered_at = CASE WHEN %s IS NULL THEN now() END WHERE delivery_id = %s",
            (error, error, receipt, error, delivery_id),
        )


def deliver(url: str, job: Job, dest, *, retry: Retry | None = None) -> tuple[int, str]:
    """Deliver `job` to `dest` unless the log says it already was; (delivery id, outcome)."""
    dest_id = destination_id(dest)
    delivery_id = _upsert(url, job, dest_id)
    if logged_status(url, job, dest_id) == "delivered":
        return delivery_id, "already delivered"
    subject = f"[Urban integration monitor] {job.package.name}"
    if isinstance(dest, SftpDestination):
        send = lambda: send_sftp(dest, job.package)  # noqa: E731
    elif isinstance(dest, EmailDestination):
        send = lambda: send_email(dest, job.package, subject=subject, body=job.body)  # noqa: E731
    else:
        send = lambda: send_folder(dest, job.package)  # noqa: E731

    def on_attempt(n: int, error: str | None) -> None:
        if error is not None:
            _attempted(url, delivery_id, error)

    try:
        receipt = with_retries(send, retry or Retry(), on_attempt)
    except DeliveryError as exc:
        raise DeliveryError(f"{job.subscriber} -> {dest_id}: {exc}") from exc
    _attempted(url, delivery_id, None, receipt)
    return delivery_id, "delivered"
