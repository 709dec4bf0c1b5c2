"""A local HTTP server that replays recorded or project-written answers, for connector tests.

It binds 127.0.0.1 on a free port, serves each route's answers in order (the last one repeats),
and records every request (method, path, query, body) so a test can assert what the connector
asked for. Nothing leaves the machine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Answer:
    body: bytes
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    Request(self.command, parts.path, parse_qsl(parts.query), body)
                )
                answers = server.routes.get((self.command, parts.path))
                if not answers:
                    answer = Answer(b"no such route in the replay server", 404, "text/plain")
                else:
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, path)] = list(answers)

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
