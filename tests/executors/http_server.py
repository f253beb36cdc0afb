"""A small local HTTP server standing in for the outside APIs the http node calls.

`/effect` stands for an API with side effects: it records every request it receives.

A bare ASGI app served by uvicorn on 127.0.0.1 (an ephemeral port), in the test's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

Scope = dict[str, Any]

# What `/effect` received, in order: the request headers of each side effect "performed".
EFFECTS: list[dict[str, str]] = []
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: str | None = "application/json",
    headers: list[tuple[str, str]] | None = None,
) -> None:
    raw_headers = [(k.encode(), v.encode()) for k, v in headers or []]
    if content_type:
        raw_headers.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
    body = await _body(receive)
    if path == "/echo":
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        echoed = {
            "method": scope["method"],
            "path": path,
            "query": parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
            "headers": headers,
            "body": body.decode(),
        }
        await _respond(send, 200, _json(echoed), headers=[("x-echo", "yes")])
    elif path == "/effect":
        EFFECTS.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await _respond(send, 200, _json({"done": len(EFFECTS)}))
    elif path.startswith("/status/"):
        status = int(path.rsplit("/", 1)[1])
        retry_after = query.get("retry_after", "7" if status in (429, 503) else "")
        extra = [("retry-after", retry_after)] if retry_after else []
        await _respond(send, status, _json({"error": f"status {status}"}), headers=extra)
    elif path == "/text":
        await _respond(send, 200, b"hello, world", "text/plain; charset=utf-8")
    elif path == "/json-as-text":
        await _respond(send, 200, b'{"a": 1}', "text/plain")
    elif path == "/problem":
        await _respond(send, 200, b'{"title": "x"}', "application/problem+json")
    elif path == "/badjson":
        await _respond(send, 200, b"not json {", "application/json")
    elif path == "/empty":
        await _respond(send, 204, b"", None)
    elif path == "/slow":
        await asyncio.sleep(float(query.get("s", "1")))
        await _respond(send, 200, _json({"slept": True}))
    elif path == "/redirect":
        code = int(query.get("code", "302"))
        await _respond(send, code, b"", None, headers=[("location", query["to"])])
    elif path == "/big":
        await _stream(send, int(query["n"]), declared="declared" in query)
    else:
        await _respond(send, 404, _json({"error": "not found"}))


async def _stream(send: Send, size: int, declared: bool) -> None:
    headers = [(b"content-type", b"text/plain")]
    if declared:
        headers.append((b"content-length", str(size).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    chunk = b"x" * 1024
    sent = 0
    while sent < size:
        part = chunk[: min(len(chunk), size - sent)]
        sent += len(part)
        await send({"type": "http.response.body", "body": part, "more_body": sent < size})


class _QuietServer(uvicorn.Server):
    """Leaves the test process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[str]:
    """Run the app on 127.0.0.1; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no start-up event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
