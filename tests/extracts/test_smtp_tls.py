"""E-mail delivery over STARTTLS with a login, against a real aiosmtpd on loopback that demands
TLS before anything else: the package arrives attached and intact when the connection asks for
STARTTLS, and the server's refusal is an error (never a silent plain-text send) when it does not,
when the certificate is not trusted, or when the password is wrong."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from pathlib import Path

import pytest

from extracts.config import EmailDestination
from extracts.deliver import send_email
from extracts.package import Built
from tests.extracts.servers import SmtpServer

CONN = "AIRFLOW_CONN_EXTRACTS_SMTP_TLS"


def _built(tmp_path: Path) -> Built:
    path = tmp_path / "ministry_2026-06-01_2026-07-01.zip"
    path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive
    data = path.read_bytes()
    return Built(path.name, path, hashlib.sha256(data).hexdigest(), len(data))


def _dest() -> EmailDestination:
    return EmailDestination.model_validate(
        {"type": "email", "name": "mail", "connection": CONN, "to": ["desk@ministry.example"],
         "from": "monitor@example.org"}
    )  # fmt: skip


@pytest.fixture
def server(tmp_path: Path):
    smtp = SmtpServer(tls=tmp_path / "tls", login=("monitor", "s3cret/pw"))
    with smtp:
        yield smtp


def test_starttls_and_login_deliver_the_package(server: SmtpServer, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "tls" / "cert.pem"))
    monkeypatch.setenv(CONN, f"smtp://monitor:s3cret%2Fpw@127.0.0.1:{server.port}?starttls=true")
    built = _built(tmp_path)
    where = send_email(_dest(), built, subject="June extract", body="Attached.")
    assert where == f"smtp://127.0.0.1:{server.port} to desk@ministry.example"
    assert server.logins == ["monitor"] and len(server.messages) == 1
    (part,) = [p for p in server.messages[0].iter_attachments()]
    assert part.get_content() == built.path.read_bytes()
    assert str(server.messages[0]["X-Package-SHA256"]).strip() == built.sha256


def test_plain_text_untrusted_certificate_and_wrong_password_are_refused(
    server: SmtpServer, tmp_path: Path, monkeypatch
):
    built = _built(tmp_path)
    # Without starttls=true the server demands TLS first: an error, nothing sent in clear.
    monkeypatch.setenv(CONN, f"smtp://127.0.0.1:{server.port}")
    with pytest.raises(smtplib.SMTPException, match="STARTTLS"):
        send_email(_dest(), built, subject="s", body="b")
    # Trusted, but the wrong password.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "tls" / "cert.pem"))
    monkeypatch.setenv(CONN, f"smtp://monitor:wrong@127.0.0.1:{server.port}?starttls=true")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send_email(_dest(), built, subject="s", body="b")
    # A certificate the client does not trust: the TLS handshake fails.
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv(CONN, f"smtp://monitor:s3cret%2Fpw@127.0.0.1:{server.port}?starttls=true")
    with pytest.raises(ssl.SSLCertVerificationError):
        send_email(_dest(), built, subject="s", body="b")
    assert not server.messages and not server.logins
