"""`GET /api/ws`: live execution status over a WebSocket.

Client frames (JSON text):
  {"type": "subscribe", "execution_id": "…", "after_seq": N?}   snapshot (or replay) then live
  {"type": "subscribe", "workflow_id": "…"}                      recent executions then live
  {"type": "unsubscribe", "execution_id" | "workflow_id": "…"}
  {"type": "ping"}
Server frames: snapshot, event, progress, pong, error. A bad frame gets an error frame and
the connection stays up. An error that ends (or refuses) a subscription names it with
`execution_id` or `workflow_id`.

  {"type": "event", "event": StatusEvent}   sequenced: per execution, seq 1, 2, … without gaps
  {"type": "progress", "progress": {"type": "node.progress", "execution_id", "workflow_id",
   "node_id", "attempt", "index", "text", "at", "tenant_id", "message_id", "schema_version"}}
      Partial output of a running node (an AI node's text as it streams). Not sequenced and
      best effort: `index` counts one attempt's chunks from 0, and appending `text` in index
      order rebuilds the text so far; a chunk may be missing (a slow client's are dropped
      rather than disconnecting it) or arrive around its node's events. The node's
      `node.succeeded` event carries the whole output, and a missing chunk never causes a
      resync. Sent only after the subscription's snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from starlette.websockets import WebSocketDisconnect

from portico_gateway import workflow_service as workflows
from portico_gateway.db_failures import database_unreachable
from portico_gateway.dependencies import (
    GatewayState,
    client_address,
    credential_of,
    identify,
    state_of,
)
from portico_gateway.errors import (
    DatabaseUnavailableError,
    PorticoError,
    RateLimitedError,
    portico_error_response,
)
from portico_gateway.json_safety import ID_PATTERN
from portico_gateway.principals import Credential
from portico_gateway.rate_limits import Rule
from portico_gateway.service import Principal
from portico_gateway.ws_subscriptions import (
    ExecutionSubscription,
    WorkflowSubscription,
    error_frame,
)

logger = logging.getLogger("portico.gateway.ws")
router = APIRouter()

MAX_FRAME_CHARS = 16 * 1024
MAX_SUBSCRIPTIONS = 100
OUTBOX_LIMIT = 10_000
# Progress is dropped once this many frames wait: a client that falls behind loses chunks
# (node.succeeded still brings the whole output) rather than its connection.
PROGRESS_BACKLOG = 1_000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TOO_SLOW = 4008
CLOSE_TRY_AGAIN_LATER = 1013
DATABASE_DOWN = "the database is unreachable; try again shortly"
QUERY_API_KEY = "api_key"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Target(_Frame):
    execution_id: str | None = Field(default=None, pattern=ID_PATTERN)
    workflow_id: str | None = Field(default=None, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _exactly_one(self) -> _Target:
        if (self.execution_id is None) == (self.workflow_id is None):
            raise ValueError("give exactly one of execution_id or workflow_id")
        return self

    @property
    def key(self) -> tuple[str, str]:
        if self.execution_id is not None:
            return ("execution", self.execution_id)
        assert self.workflow_id is not None
        return ("workflow", self.workflow_id)


class Subscribe(_Target):
    type: Literal["subscribe"]
    after_seq: int | None = Field(default=None, ge=0)


class Unsubscribe(_Target):
    type: Literal["unsubscribe"]


class Ping(_Frame):
    type: Literal["ping"]


ClientFrame: TypeAdapter[Subscribe | Unsubscribe | Ping] = TypeAdapter(
    Annotated[Subscribe | Unsubscribe | Ping, Field(discriminator="type")]
)


def _frame_problem(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'frame'}: {e['msg']}" for e in exc.errors()
    )


class WsConnection:
    """One socket: a receive loop, a send loop, and a task per subscription."""

    def __init__(self, websocket: WebSocket, principal: Principal, state: GatewayState) -> None:
        self.websocket = websocket
        self.principal = principal
        self.state = state
        self.tenant_id = principal.tenant_id
        self.hub = state.hub
        self.orchestrator = state.orchestrator
        # Frames encoded as JSON text; None closes the socket.
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._overflowed = False
        self._subs: dict[tuple[str, str], asyncio.Task[None]] = {}

    # --- what subscriptions call ---

    def send(self, frame: dict[str, Any]) -> None:
        self.send_text(json.dumps(frame))

    def send_text(self, frame: str) -> None:
        if self._overflowed:
            return
        if self._outbox.qsize() >= OUTBOX_LIMIT:
            self.overflow()
            return
        self._outbox.put_nowait(frame)

    def send_progress(self, frame: str) -> None:
        if not self._overflowed and self._outbox.qsize() < PROGRESS_BACKLOG:
            self._outbox.put_nowait(frame)

    def overflow(self) -> None:
        """The client reads slower than events come: drop it; it resumes with after_seq."""
        if self._overflowed:
            return
        self._overflowed = True
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._outbox.put_nowait(None)

    def follows_execution(self, execution_id: str) -> bool:
        return ("execution", execution_id) in self._subs

    # --- the socket ---

    async def serve(self) -> None:
        tasks = [asyncio.create_task(self._send_loop()), asyncio.create_task(self._receive_loop())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*tasks, *self._subs.values()]:
                task.cancel()
            await asyncio.gather(*tasks, *self._subs.values(), return_exceptions=True)
            self._subs.clear()

    async def _send_loop(self) -> None:
        while True:
            frame = await self._outbox.get()
            if frame is None:
                await self.websocket.close(
                    CLOSE_TOO_SLOW, "too many undelivered events; reconnect and resubscribe"
                )
                return
            await self.websocket.send_text(frame)

    async def _receive_loop(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    self.send(error_frame("bad_frame", "send JSON text frames, not binary"))
                    continue
                await self._handle(text)
        except WebSocketDisconnect:
            return

    async def _handle(self, text: str) -> None:
        if len(text) > MAX_FRAME_CHARS:
            self.send(error_frame("bad_frame", f"frame longer than {MAX_FRAME_CHARS} characters"))
            return
        try:
            frame = ClientFrame.validate_json(text)
        except ValidationError as exc:
            self.send(error_frame("bad_frame", _frame_problem(exc)))
            return
        if isinstance(frame, Ping):
            self.send({"type": "pong"})
        elif isinstance(frame, Subscribe):
            await self._subscribe(frame)
        else:
            self._cancel(frame.key)

    async def _subscribe(self, frame: Subscribe) -> None:
        kind, target = frame.key
        if frame.key not in self._subs and len(self._subs) >= MAX_SUBSCRIPTIONS:
            limit = f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
            self.send(error_frame("too_many_subscriptions", limit, frame.key))
            return
        if kind == "workflow":
            try:
                async with self.state.sessions() as db:
                    await workflows.require_workflow(db, self.principal, target)
            except PorticoError as exc:
                self.send(error_frame(exc.code, exc.message, frame.key))
                return
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                self.send(error_frame("database_unavailable", DATABASE_DOWN, frame.key))
                return
        # Subscribing again replaces the old subscription (say, to resume with after_seq).
        self._cancel(frame.key)
        subscription = (
            ExecutionSubscription(self, target, frame.after_seq)
            if kind == "execution"
            else WorkflowSubscription(self, target)
        )
        task = asyncio.create_task(subscription.run())
        self._subs[frame.key] = task
        task.add_done_callback(lambda done: self._forget(frame.key, done))

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._subs.get(key) is task:
            del self._subs[key]

    def _cancel(self, key: tuple[str, str]) -> None:
        task = self._subs.pop(key, None)
        if task is not None:
            task.cancel()


# uvicorn logs every WebSocket's path with its query string (INFO, logger "uvicorn.error"), so
# a key sent as `?api_key=` would be written to the logs; this filter blanks it out first.
def _without_query_api_key(text: str) -> str:
    path, question, query = text.partition("?")
    if not question:
        return text
    pairs = parse_qsl(query, keep_blank_values=True)  # decoded, as the endpoint reads them
    if all(name != QUERY_API_KEY for name, _ in pairs):
        return text
    redacted = [(name, "***" if name == QUERY_API_KEY else value) for name, value in pairs]
    return f"{path}?{urlencode(redacted)}"


class QueryApiKeyRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _without_query_api_key(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


REDACT_QUERY_API_KEYS = QueryApiKeyRedactor()


def _origin_allowed(websocket: WebSocket, state: GatewayState) -> bool:
    """Cookie-authenticated sockets must come from our own pages (cross-site WS hijacking)."""
    origin = websocket.headers.get("origin")
    if origin is None or origin in state.settings.cors_origins:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def _authenticate(websocket: WebSocket, state: GatewayState) -> tuple[Principal | None, int]:
    """Bearer header, then `?api_key=` (browsers cannot set WS headers), then the cookie."""
    authorization = websocket.headers.get("authorization")
    query_key = websocket.query_params.get(QUERY_API_KEY)
    cookie = websocket.cookies.get(state.settings.session_cookie_name)
    if authorization or not query_key:
        credential = credential_of(authorization, cookie)
    else:
        credential = Credential("api_key", query_key)
    caller = await identify(state, credential)
    if caller is None:
        return None, CLOSE_UNAUTHENTICATED
    principal = caller.principal
    by_cookie = not authorization and not query_key
    if by_cookie and not _origin_allowed(websocket, state):
        return None, CLOSE_FORBIDDEN_ORIGIN
    return principal, 0


async def _deny(websocket: WebSocket, error: PorticoError, retry_after_s: int) -> None:
    """Refuse the handshake with an HTTP status and Retry-After, as for any other request."""
    response = portico_error_response(error, retry_after_s)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
        return
    await websocket.accept()  # a server without denial responses: say it in a frame
    await websocket.send_text(json.dumps(error_frame(error.code, error.message)))
    await websocket.close(CLOSE_TRY_AGAIN_LATER, error.code)


async def _admit(websocket: WebSocket, state: GatewayState) -> tuple[Principal | None, int] | None:
    """Rate limit, then authenticate; None when the handshake was refused here."""
    retry_after_s = state.settings.unavailable_retry_after_s
    try:
        await state.rate_limits.hit(Rule.WS_CONNECT, client_address(websocket))
        return await _authenticate(websocket, state)
    except RateLimitedError as exc:
        await _deny(websocket, exc, retry_after_s)
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        await _deny(websocket, DatabaseUnavailableError(DATABASE_DOWN), retry_after_s)
    return None


@router.websocket("/api/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    state = state_of(websocket)
    admitted = await _admit(websocket, state)
    if admitted is None:
        return
    principal, close_code = admitted
    # Accept first even when refusing: a browser sees the close code and reason, while a
    # handshake refused with HTTP 403 tells it nothing.
    await websocket.accept()
    if principal is None:
        reason = "origin not allowed" if close_code == CLOSE_FORBIDDEN_ORIGIN else "not signed in"
        code = "forbidden_origin" if close_code == CLOSE_FORBIDDEN_ORIGIN else "unauthenticated"
        await websocket.send_text(json.dumps(error_frame(code, reason)))
        await websocket.close(close_code, reason)
        return
    state.metrics.ws_connections.inc()
    try:
        await WsConnection(websocket, principal, state).serve()
    finally:
        state.metrics.ws_connections.dec()
