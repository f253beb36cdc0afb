"""A small local HTTP API standing in for the outside services workflows call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

USERS = {
    "ada@example.com": {"name": "Ada", "plan": "enterprise"},
    "bob@example.com": {"name": "Bob", "plan": "free"},
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        return

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.server.lock:
            self.server.headers_seen.append((url.path, dict(self.headers.items())))
            self.server.hits[url.path] = self.server.hits.get(url.path, 0) + 1
            hits = self.server.hits[url.path]
        if url.path == "/users":
            user = USERS.get(query.get("email", ""))
            self._reply(200 if user else 404, user or {"error": "no such user"})
        elif url.path == "/flaky":  # fails twice, then works
            self._reply(503 if hits <= 2 else 200, {"hits": hits})
        elif url.path == "/private":  # needs the bearer token of `expected_token`
            authorized = self.headers.get("Authorization") == f"Bearer {self.server.expected_token}"
            self._reply(200 if authorized else 401, {"authorized": authorized})
        elif url.path == "/broken":
            self._reply(500, {"error": "always broken"})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        with self.server.lock:
            self.server.posted.append(body)
        self._reply(201, {"received": body})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a burst of new connections from the executors
    # overflows it and the kernel breaks some of them, which no real API server would do.
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: dict[str, int] = {}
        self.posted: list[Any] = []
        # (path, headers) of every GET: what auth a request carried.
        self.headers_seen: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.expected_token = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def outside_api() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
