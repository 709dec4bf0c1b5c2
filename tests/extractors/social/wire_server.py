"""A local HTTP server (127.0.0.1, free port, in a thread) that replays platform responses and
injects faults: statuses with headers, delays, truncated bodies, blocked requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """What to do instead of (or before) answering one request."""

    status: int | None = None  # answer with this status
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0  # sleep first (a timeout when longer than the client's)
    truncate_to: int | None = None  # send the real answer cut to this many bytes
    cut_connection: bool = False  # announce the full length, send less, close (protocol error)
    block: threading.Event | None = None  # wait until set (a request "in flight" forever)


Handler = Callable[[Request], Reply]


class WireServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._faults: list[tuple[str, Fault]] = []
        self._lock = threading.Lock()
        self.reached = threading.Event()  # set when a blocking fault is hit
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with server._lock:
                    server.requests.append(request)
                    fault = server._take_fault(request.path)
                if fault and fault.block is not None:
                    server.reached.set()
                    fault.block.wait()
                if fault and fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault and fault.status is not None:
                    reply = Reply(fault.status, fault.body, fault.headers)
                else:
                    reply = server.handler(request)
                body = reply.body
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if fault and fault.truncate_to is not None:
                    body = body[: fault.truncate_to]
                if fault and fault.cut_connection:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = _serve
            do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, path_prefix: str, *faults: Fault) -> None:
        """The next requests under `path_prefix` meet `faults`, one each, in order."""
        with self._lock:
            self._faults += [(path_prefix, f) for f in faults]

    def _take_fault(self, path: str) -> Fault | None:
        for i, (prefix, fault) in enumerate(self._faults):
            if path.startswith(prefix):
                del self._faults[i]
                return fault
        return None

    def paths(self, prefix: str = "") -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
