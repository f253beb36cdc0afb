"""A small local HTTP server standing in for the outside APIs the http node calls.

`/effect` stands for an API with side effects: it records every request it receives.

A bare ASGI app served by uvicorn on 127.0.0.1 (an ephemeral port), in the test's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.serving import (
    Receive,
    Scope,
    Send,
    read_body,
    send_response,
    serve_asgi,
    start_response,
)

# What `/effect` received, in order: the request headers of each side effect "performed".
EFFECTS: list[dict[str, str]] = []


async def _respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: str | None = "application/json",
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    await send_response(send, status, body, content_type, headers)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
    body = await read_body(receive)
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
    length = [("content-length", str(size))] if declared else []
    await start_response(send, 200, "text/plain", length)
    chunk = b"x" * 1024
    sent = 0
    while sent < size:
        part = chunk[: min(len(chunk), size - sent)]
        sent += len(part)
        await send({"type": "http.response.body", "body": part, "more_body": sent < size})


def serving() -> contextlib.AbstractAsyncContextManager[str]:
    """Run the app on 127.0.0.1; yields its base URL."""
    return serve_asgi(app)
