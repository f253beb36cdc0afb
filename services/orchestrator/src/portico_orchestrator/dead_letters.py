"""What a dead-lettered message was about, read from whatever is left of it.

A dead letter reaches the orchestrator from the broker, when a consumer gave up on it (it
refused it, or it came back `DELIVERY_LIMIT` times unsettled; either way with
`x-portico-error`) or RabbitMQ did (`x-first-death-reason`), or from our own outbox, which
parked a row it could never publish. Either way the message may be broken, so nothing here
trusts its shape: fields are picked out when present and valid, and the rest stays unknown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portico_contracts.topology import DEAD_LETTER_REASON_HEADER, NODE_RESULT

_EXCERPT_CHARS = 4096
_MAX_ID = 100


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: str
    queue: str | None = None
    exchange: str | None = None
    routing_key: str | None = None
    message_id: str | None = None
    tenant_id: str | None = None
    execution_id: str | None = None
    node_id: str | None = None
    attempt: int | None = None
    body_excerpt: str | None = None
    headers: dict[str, str] | None = None

    @property
    def kind(self) -> str:
        """node.ready, node.result, or the routing key as it was."""
        key = self.routing_key or ""
        return "node.ready" if key.startswith("node.ready.") else key or "message"

    @property
    def lost_attempt(self) -> tuple[str, str, str, int] | None:
        """(tenant, execution, node, attempt) when this letter stands for one attempt of one
        node whose result will now never come (its node.ready or node.result)."""
        if self.kind not in ("node.ready", NODE_RESULT):
            return None
        if self.tenant_id and self.execution_id and self.node_id and self.attempt:
            return self.tenant_id, self.execution_id, self.node_id, self.attempt
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and value and len(value) <= _MAX_ID and "\x00" not in value:
        return value
    return None


def _attempt(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**31:
        return value
    return None


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value) if value not in (None, "") else None


def _reason(headers: Mapping[str, Any]) -> str:
    """Ours (a consumer refused it, or it came back too often), else RabbitMQ's own."""
    ours = _header(headers, DEAD_LETTER_REASON_HEADER)
    if ours:
        return ours
    rabbit = _header(headers, "x-first-death-reason")
    return f"dead-lettered by RabbitMQ: {rabbit}" if rabbit else "dead-lettered (no reason given)"


def _fields(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _excerpt(body: bytes) -> str:
    return body[:_EXCERPT_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd")


def from_broker(
    body: bytes, headers: Mapping[str, Any], routing_key: str | None, message_id: str | None
) -> DeadLetter:
    fields = _fields(body)
    return DeadLetter(
        reason=_reason(headers)[:2000],
        queue=_header(headers, "x-first-death-queue"),
        exchange=_header(headers, "x-portico-original-exchange")
        or _header(headers, "x-first-death-exchange"),
        routing_key=_header(headers, "x-portico-original-routing-key") or routing_key,
        message_id=_text(message_id),
        tenant_id=_text(fields.get("tenant_id")),
        execution_id=_text(fields.get("execution_id")),
        node_id=_text(fields.get("node_id")),
        attempt=_attempt(fields.get("attempt")),
        body_excerpt=_excerpt(body),
        headers={
            k: (_header(headers, k) or "")[:500] for k in list(headers)[:30] if k != "x-death"
        },
    )


def from_outbox(
    body: str, exchange: str, routing_key: str, message_id: str, reason: str
) -> DeadLetter:
    """A row the outbox parked. Huge bodies are read only as far as the ids go."""
    fields = _fields(body.encode()) if len(body) < 64 * 1024 * 1024 else {}
    return DeadLetter(
        reason=reason[:2000],
        exchange=exchange,
        routing_key=routing_key,
        message_id=_text(message_id),
        tenant_id=_text(fields.get("tenant_id")),
        execution_id=_text(fields.get("execution_id")),
        node_id=_text(fields.get("node_id")),
        attempt=_attempt(fields.get("attempt")),
        body_excerpt=_excerpt(body[:_EXCERPT_CHARS].encode()),
    )
