"""The outside service chaos workflows call: it records every request and, like a careful payment
API, lets each `Idempotency-Key` take effect once.

Each request names its (execution, node) in its JSON body, from the workflow's own templates, so
what took effect is counted here, at the receiver, never from what Portico says about itself.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Pair = tuple[str, str]  # (execution id, node id)


@dataclass
class Ledger:
    """What took effect, by (execution, node); every key it has seen; the redos it refused."""

    effects: defaultdict[Pair, list[str | None]] = field(default_factory=lambda: defaultdict(list))
    redos: Counter[Pair] = field(default_factory=Counter)
    # Requests that carried no key, or a key naming another (execution, node): nothing a
    # receiver could deduplicate them by.
    unkeyed: Counter[Pair] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, pair: Pair, key: str | None) -> None:
        with self.lock:
            if key is not None and key in self.keys:
                self.redos[pair] += 1  # the same attempt redone after a crash: no effect
                return
            if key is None or not key.startswith(f"{pair[0]}:{pair[1]}:"):
                self.unkeyed[pair] += 1
            if key is not None:
                self.keys.add(key)
            self.effects[pair].append(key)

    def snapshot(self) -> tuple[dict[Pair, int], Counter[Pair], Counter[Pair]]:
        """(effects per pair, redos, unkeyed), copied under the lock."""
        with self.lock:
            done = {pair: len(keys) for pair, keys in self.effects.items()}
            return done, Counter(self.redos), Counter(self.unkeyed)


class _Handler(BaseHTTPRequestHandler):
    server: SideEffectServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the executors' pooled client expects
    # Headers and body leave in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (40 ms here), which a benchmark would take for Portico's time.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # one line per request would drown the output
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.server.ledger.receive(
            (body["execution"], body["node"]), self.headers["Idempotency-Key"]
        )
        # The effect is done before the answer leaves: a crash in between is the case to survive.
        time.sleep(self.server.latency_s)
        data = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class SideEffectServer(ThreadingHTTPServer):
    """Serves on 127.0.0.1 from a thread of its own, so a busy test loop never delays it."""

    daemon_threads = True
    # socketserver listens with a backlog of 5: a burst of new connections from the executors
    # overflows it and the kernel breaks some of them, which no real API server would do.
    request_queue_size = 1024

    def __init__(self, latency_s: float = 0.05) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ledger = Ledger()
        self.latency_s = latency_s
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # An executor killed mid-request resets its connection: that is the point, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/effects"

    def __enter__(self) -> SideEffectServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
