"""What the local fake servers share: a bare ASGI app served by uvicorn on 127.0.0.1 (an
ephemeral port) in the test's own loop, and the requests it records.

    async with serve_asgi(recording_app(requests, handle)) as base_url:
        ...  # `requests` gets every request, in order, before `handle` answers it
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


# Answers one recorded request through `send`.
Handler = Callable[[RecordedRequest, Send], Awaitable[None]]


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def read_request(scope: Scope, receive: Receive) -> RecordedRequest:
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        query=dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True)),
        headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
        body=await read_body(receive),
    )


async def start_response(
    send: Send, status: int, content_type: str | None, headers: Iterable[tuple[str, str]] = ()
) -> None:
    raw_headers = [(k.encode(), v.encode()) for k, v in headers]
    if content_type:
        raw_headers.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})


async def send_response(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """A whole response in one body message."""
    await start_response(send, status, content_type, headers)
    await send({"type": "http.response.body", "body": body})


def recording_app(requests: list[RecordedRequest], handle: Handler) -> App:
    """An app that appends every HTTP request to `requests` (refused ones too), then lets
    `handle` answer it."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        requests.append(request)
        await handle(request, send)

    return app


class _QuietServer(uvicorn.Server):
    """Leaves the test process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(app: App) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (an ephemeral port) in this loop; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no start-up event
        if task.done():
            task.result()  # raises the start-up error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
