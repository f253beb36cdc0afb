"""The model SDKs' HTTP traffic, sent through the executor's SSRF-guarded httpx client.

The openai and anthropic SDKs (and google-genai, given one) speak `httpx2`, a fork of httpx
with its own connection pool, which our guard (http_guard.py, an httpcore network backend)
cannot sit in. So the SDKs get an `httpx2.AsyncClient` whose transport hands every request
to the guarded `httpx.AsyncClient`: one guard, one allow-list (`PORTICO_HTTP_ALLOW_HOSTS`),
one connection pool for every outgoing call of the executor. A refused destination raises
`BlockedRequestError` straight through the SDK (it is no transport error of theirs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import httpx2


def _bridged_error(exc: httpx.TransportError) -> httpx2.TransportError:
    """The httpx2 twin of an httpx transport error, so the SDK maps it as its own (a timeout
    as a timeout, anything else as a connection error)."""
    twin = getattr(httpx2, type(exc).__name__, None)
    if not (isinstance(twin, type) and issubclass(twin, httpx2.TransportError)):
        twin = httpx2.TimeoutException if isinstance(exc, httpx.TimeoutException) else None
    return (twin or httpx2.ConnectError)(str(exc) or type(exc).__name__)


class _BridgedBody(httpx2.AsyncByteStream):
    """The guarded response's raw (still encoded) bytes; httpx2 decodes them itself."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_raw():
                yield chunk
        except httpx.TransportError as exc:
            raise _bridged_error(exc) from exc

    async def aclose(self) -> None:
        await self.response.aclose()


class GuardedBridge(httpx2.AsyncBaseTransport):
    def __init__(self, guarded: httpx.AsyncClient) -> None:
        self.guarded = guarded

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        outgoing = httpx.Request(
            request.method,
            str(request.url),
            headers=request.headers.raw,
            content=await request.aread(),  # a JSON body: small, and read once anyway
            extensions={"timeout": request.extensions.get("timeout", {})},
        )
        try:
            response = await self.guarded.send(outgoing, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _bridged_error(exc) from exc
        return httpx2.Response(
            response.status_code,
            headers=response.headers.raw,
            stream=_BridgedBody(response),
            extensions={"http_version": response.http_version.encode()},
        )

    async def aclose(self) -> None:
        return None  # the guarded client belongs to the executor, which closes it


def sdk_http_client(guarded: httpx.AsyncClient) -> httpx2.AsyncClient:
    """An httpx2 client for one SDK client; cheap (no pool, no TLS context of its own)."""
    return httpx2.AsyncClient(transport=GuardedBridge(guarded), trust_env=False)
