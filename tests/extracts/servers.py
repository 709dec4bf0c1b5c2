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
    """aiosmtpd on 127.0.0.1; refuses the first `refuse` messages with a 554."""

    def __init__(self, *, refuse: int = 0) -> None:
        self.port = free_port()
        self.box = _Mailbox(refuse)
        self._controller = Controller(self.box, hostname="127.0.0.1", port=self.port)

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
