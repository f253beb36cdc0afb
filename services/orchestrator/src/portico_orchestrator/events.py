"""Event triggers: a JSON message on the `portico.events` topic exchange starts every active
workflow with an event trigger whose pattern matches its routing key.

Each start gets an id derived from the event (its message id, or a hash of routing key and
body when it has none) and the trigger, so a redelivered or republished event starts nothing
twice. A body that is not JSON is dead-lettered with the parser's reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faststream.rabbit.message import RabbitMessage

from portico_contracts.broker import undecoded
from portico_contracts.dead_letter import PermanentMessageError
from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import StartExecution
from portico_contracts.topology import EVENTS_EXCHANGE, EVENTS_QUEUE
from portico_contracts.triggers import topic_matches
from portico_orchestrator import db
from portico_orchestrator.handlers import requeue_or_park, trace_of
from portico_orchestrator.step import Effects
from portico_orchestrator.unit_of_work import Deps

logger = logging.getLogger("portico.orchestrator.events")

EVENT_NAMESPACE = uuid.UUID("0b8f3f7e-9d4c-5a41-8e2f-6c3b7a1d9e52")

# Few event triggers per deployment: every row is read and matched here (RabbitMQ's own
# topic semantics, `topic_matches`), which is always current with the registry.
_EVENT_TRIGGERS = db.Query(
    """
    SELECT t.workflow_id, t.node_id, t.tenant_id, t.workflow_version, t.config, w.graph
    FROM orchestrator.triggers t
    JOIN orchestrator.trigger_workflows w USING (workflow_id)
    WHERE t.kind = 'event'
    ORDER BY t.workflow_id, t.node_id
    """
)


def event_key(message_id: str | None, routing_key: str, body: bytes) -> str:
    """What identifies this event across redeliveries and republishing."""
    if message_id:
        return f"id:{message_id}"
    digest = hashlib.sha256(routing_key.encode() + b"\x00" + body).hexdigest()
    return f"sha256:{digest}"


def event_execution_id(key: str, workflow_id: str, node_id: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{key}\x1f{workflow_id}\x1f{node_id}"))


def plain_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Headers as JSON values (AMQP allows bytes, timestamps and decimals too)."""
    plain: dict[str, Any] = {}
    for name, value in headers.items():
        if isinstance(value, bytes):
            plain[name] = value.decode("utf-8", "replace")
        elif value is None or isinstance(value, str | int | float | bool):
            plain[name] = value
        else:
            plain[name] = str(value)
    return plain


@dataclass(frozen=True)
class Event:
    routing_key: str
    key: str  # see event_key
    output: dict[str, Any]  # the trigger node's output
    size: int
    trace: dict[str, str] | None


async def start_matching(deps: Deps, conn: db.Connection, event: Event) -> list[Effects]:
    """Start every matching trigger's workflow; the effects to carry out after commit."""
    started = []
    for row in await _EVENT_TRIGGERS.fetch(conn):
        if not topic_matches(row["config"]["pattern"], event.routing_key):
            continue
        command = StartExecution(
            tenant_id=row["tenant_id"],
            execution_id=event_execution_id(event.key, row["workflow_id"], row["node_id"]),
            workflow_id=row["workflow_id"],
            workflow_version=row["workflow_version"],
            graph=WorkflowGraph.model_validate(row["graph"]),
            trigger_node_id=row["node_id"],
            payload=event.output,
            mode="event",
        )
        try:
            # A savepoint: one workflow whose graph cannot run must not stop the others.
            async with conn.transaction():
                _, effects = await deps.service.start(conn, command, event.size, event.trace)
        except PermanentMessageError as exc:
            logger.error("event trigger %s/%s: %s", row["workflow_id"], row["node_id"], exc)
            continue
        started.append(effects)
    return started


def register(deps: Deps) -> None:
    @deps.broker.subscriber(EVENTS_QUEUE, EVENTS_EXCHANGE, decoder=undecoded)
    async def outside_event(message: RabbitMessage) -> None:
        body = json.loads(message.body)  # not JSON: DeadLetterMiddleware refuses it
        routing_key = message.raw_message.routing_key or ""
        output = {
            "routing_key": routing_key,
            "headers": plain_headers(message.headers),
            "body": body,
        }
        # The publisher's own id: FastStream makes one up for a message without, which would
        # differ on every delivery.
        key = event_key(message.raw_message.message_id, routing_key, message.body)
        event = Event(routing_key, key, output, len(message.body), trace_of(message))
        async with requeue_or_park(message):
            started = await deps.transaction(lambda conn: start_matching(deps, conn, event))
        for effects in started:
            await deps.after_commit(effects)
