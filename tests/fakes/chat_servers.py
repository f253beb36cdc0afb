"""Local stand-ins for Slack incoming webhooks and Discord webhooks, speaking their wire format.

    async with fake_slack() as slack:
        ...  # a slack_webhook credential with {"url": slack.url}
        slack.fail_next(1, status=429, retry_after=2)
        assert slack.requests[0].json == {"text": "hi"}

Slack: 200 `ok` (text); errors are short text codes with a 4xx (`invalid_payload`, `no_text`,
`no_service`, `channel_not_found`), 429 `rate_limited` with Retry-After.
Discord: `?wait=true` → 200 with the created message object, else 204; errors are JSON
`{"message", "code"}`; 429 is `{"message", "retry_after" (seconds, float), "global"}` plus a
Retry-After header.

Every request is recorded (also the refused ones), in order. A bare ASGI app served by uvicorn
on 127.0.0.1 (an ephemeral port), in the test's own loop.
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .serving import RecordedRequest, Send, recording_app, send_response, serve_asgi


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ScriptedFailure:
    status: int
    retry_after: float | None
    error: str | None


@dataclass
class FakeWebhook:
    """One fake service: where it listens, what it received, what it will refuse next."""

    base: str = ""
    url: str = ""  # the webhook URL: in real life, the secret
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[ScriptedFailure] = field(default_factory=list)

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        error: str | None = None,
    ) -> None:
        """Refuse the next `count` requests with `status` (and Retry-After, and the service's
        own error text or message; a sensible one per status when None)."""
        self._failures.extend(ScriptedFailure(status, retry_after, error) for _ in range(count))

    def take_failure(self) -> ScriptedFailure | None:
        return self._failures.pop(0) if self._failures else None


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


# --- Slack ------------------------------------------------------------------------------------

_SLACK_ERRORS = {400: "invalid_payload", 403: "invalid_token", 404: "channel_not_found"}


def _slack_text(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), "text/html")


def _slack_reply(hook: FakeWebhook, path: str, request: RecordedRequest) -> Reply:
    if request.method != "POST" or request.path != path:
        return _slack_text(404, "no_service")
    failure = hook.take_failure()
    if failure is not None:
        default = "rate_limited" if failure.status == 429 else "internal_error"
        reply = _slack_text(
            failure.status, failure.error or _SLACK_ERRORS.get(failure.status, default)
        )
        if failure.retry_after is not None:
            return replace(reply, headers=(("retry-after", f"{failure.retry_after:g}"),))
        return reply
    payload = _json_or_none(request.body)
    if not isinstance(payload, dict):
        return _slack_text(400, "invalid_payload")
    if not payload.get("text") and not payload.get("blocks"):
        return _slack_text(400, "no_text")
    return _slack_text(200, "ok")


# --- Discord ----------------------------------------------------------------------------------


def _discord_json(status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps(value).encode(), "application/json", headers)


def _discord_failure(failure: ScriptedFailure) -> Reply:
    if failure.status == 429:
        wait = 1.0 if failure.retry_after is None else failure.retry_after
        body = {
            "message": failure.error or "You are being rate limited.",
            "retry_after": wait,
            "global": False,
        }
        limited = (("retry-after", str(math.ceil(wait))), ("x-ratelimit-scope", "user"))
        return _discord_json(429, body, limited)
    headers: tuple[tuple[str, str], ...] = (
        () if failure.retry_after is None else (("retry-after", f"{failure.retry_after:g}"),)
    )
    return _discord_json(
        failure.status, {"message": failure.error or "Internal Server Error", "code": 0}, headers
    )


def _discord_message(webhook_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(1_100_000_000_000_000_000 + secrets.randbelow(10**15)),
        "type": 0,
        "content": payload.get("content") or "",
        "channel_id": "1000000000000000001",
        "author": {
            "id": webhook_id,
            "username": payload.get("username") or "Fake Hook",
            "bot": True,
        },
        "embeds": payload.get("embeds") or [],
        "tts": bool(payload.get("tts")),
        "timestamp": datetime.now(UTC).isoformat(),
        "webhook_id": webhook_id,
    }


def _discord_reply(
    hook: FakeWebhook, webhook_id: str, path: str, request: RecordedRequest
) -> Reply:
    if request.method != "POST" or request.path != path:
        return _discord_json(401, {"message": "Invalid Webhook Token", "code": 50027})
    failure = hook.take_failure()
    if failure is not None:
        return _discord_failure(failure)
    payload = _json_or_none(request.body)
    if not isinstance(payload, dict):
        return _discord_json(
            400, {"message": "The request body contains invalid JSON.", "code": 50109}
        )
    if not payload.get("content") and not payload.get("embeds"):
        return _discord_json(400, {"message": "Cannot send an empty message", "code": 50006})
    if len(str(payload.get("content") or "")) > 2000:
        return _discord_json(400, {"message": "Invalid Form Body", "code": 50035})
    if request.query.get("wait", "").lower() != "true":
        return Reply(204)
    return _discord_json(200, _discord_message(webhook_id, payload))


# --- serving ----------------------------------------------------------------------------------

Responder = Callable[[RecordedRequest], Reply]


@contextlib.asynccontextmanager
async def _serving(hook: FakeWebhook, respond: Responder) -> AsyncIterator[str]:
    async def handle(request: RecordedRequest, send: Send) -> None:
        reply = respond(request)
        await send_response(send, reply.status, reply.body, reply.content_type, reply.headers)

    async with serve_asgi(recording_app(hook.requests, handle)) as base:
        yield base


@contextlib.asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeWebhook]:
    hook = FakeWebhook()
    team, hook_id = secrets.token_hex(4).upper(), secrets.token_hex(5).upper()
    path = f"/services/T{team}/B{hook_id}/{secrets.token_urlsafe(18)}"
    async with _serving(hook, lambda request: _slack_reply(hook, path, request)) as base:
        hook.base, hook.url = base, base + path
        yield hook


@contextlib.asynccontextmanager
async def fake_discord() -> AsyncIterator[FakeWebhook]:
    hook = FakeWebhook()
    webhook_id = str(1_200_000_000_000_000_000 + secrets.randbelow(10**15))
    path = f"/api/webhooks/{webhook_id}/{secrets.token_urlsafe(51)}"
    async with _serving(
        hook, lambda request: _discord_reply(hook, webhook_id, path, request)
    ) as base:
        hook.base, hook.url = base, base + path
        yield hook
