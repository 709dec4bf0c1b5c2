"""Real servers on loopback for the delivery tests: an SFTP server (asyncssh, password login,
chrooted to a folder, optionally slow) and an SMTP server (aiosmtpd) that can refuse messages."""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from pathlib import Path

import asyncssh
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = "ministry", "s3cret-sftp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SftpServer:
    """`start()`/`stop()` an SFTP server on 127.0.0.1:`port` serving `root`; `uploads` counts
    files opened for writing; `delay_s` slows every write (to kill an upload half-way)."""

    def __init__(self, root: Path, port: int | None = None, *, delay_s: float = 0.0) -> None:
        self.root, self.port, self.delay_s = root, port or free_port(), delay_s
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.uploads = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._lock: asyncio.Lock | None = None

    def _write_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def known_hosts(self, path: Path) -> Path:
        public = self.key.export_public_key().decode().split()[:2]
        path.write_text(f"[127.0.0.1]:{self.port} {' '.join(public)}\n")
        return path

    def uri(self) -> str:
        return f"sftp://{USER}:{PASSWORD}@127.0.0.1:{self.port}/"

    def start(self) -> SftpServer:
        owner = self

        class Auth(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == USER and password == PASSWORD

        class Files(asyncssh.SFTPServer):
            def __init__(self, chan) -> None:
                super().__init__(chan, chroot=str(owner.root).encode())

            def open(self, path, pflags, attrs):
                if pflags & asyncssh.FXF_WRITE:
                    owner.uploads += 1
                return super().open(path, pflags, attrs)

            async def write(self, file_obj, offset, data):
                if owner.delay_s:
                    # Clients pipeline their writes: one at a time, or the delays overlap.
                    async with owner._write_lock():
                        await asyncio.sleep(owner.delay_s)
                return super().write(file_obj, offset, data)

        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncssh.create_server(
                    Auth,
                    "127.0.0.1",
                    self.port,
                    server_host_keys=[self.key],
                    sftp_factory=Files,
                )
            )
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        assert ready.wait(10), "SFTP server did not start"
        return self

    def stop(self) -> None:
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None


class _Mailbox:
    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.messages: list = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refused < self.refuse:
            self.refused += 1
            return "554 5.7.1 message refused by policy"
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; refuses the first `refuse` messages with a 554. With `tls`, a
    certificate for 127.0.0.1 (written to `tls`/cert.pem, for the client to trust) and STARTTLS
    required before anything else; with `login`, AUTH (only over TLS) as that user and password."""

    def __init__(
        self, *, refuse: int = 0, tls: Path | None = None, login: tuple[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.box = _Mailbox(refuse)
        self.logins: list[str] = []
        options: dict = {}
        if tls is not None:
            options.update(tls_context=_tls_context(tls), require_starttls=True)
        if login is not None:

            def check(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == login
                if ok:
                    self.logins.append(auth_data.login.decode())
                # handled=False: aiosmtpd then answers 535 itself (its default is silence).
                return AuthResult(success=ok, handled=False)

            options.update(authenticator=check, auth_required=True, auth_require_tls=True)
        self._controller = Controller(self.box, hostname="127.0.0.1", port=self.port, **options)

    @property
    def messages(self) -> list:
        return self.box.messages

    def uri(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()


def _tls_context(folder: Path):
    """A server context with a fresh self-signed certificate for 127.0.0.1."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context
