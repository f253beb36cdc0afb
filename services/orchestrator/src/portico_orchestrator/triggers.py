"""The trigger registry: which active workflow starts on a schedule, an event or a webhook.

`WorkflowActivated` replaces every trigger row of the workflow with the new version's;
`WorkflowDeactivated` deletes them. Each carries the gateway's count of the workflow's
activation changes (`sequence`), and one no newer than the last applied changes nothing, so a
late or repeated message never undoes a later change. Both run in one transaction, acked after
commit; a message that does not validate (or whose trigger configs do not) is dead-lettered
by `DeadLetterMiddleware`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from faststream.rabbit.message import RabbitMessage

from portico_contracts.broker import undecoded
from portico_contracts.dead_letter import PermanentMessageError
from portico_contracts.graph import Node, WorkflowGraph
from portico_contracts.messages import WorkflowActivated, WorkflowDeactivated, utcnow
from portico_contracts.schedule import next_fire
from portico_contracts.topology import ACTIVATED_QUEUE, COMMANDS_EXCHANGE, DEACTIVATED_QUEUE
from portico_contracts.triggers import CronTriggerConfig, EventTriggerConfig, WebhookTriggerConfig
from portico_orchestrator import db, readiness
from portico_orchestrator.handlers import requeue_or_park
from portico_orchestrator.readiness import GraphIndex
from portico_orchestrator.step import jsonb_safe
from portico_orchestrator.unit_of_work import Deps

TriggerKind = Literal["cron", "event", "webhook"]
KIND_OF_TYPE: dict[str, TriggerKind] = {
    "trigger.cron": "cron",
    "trigger.event": "event",
    "trigger.webhook": "webhook",
}

_LOCK_WORKFLOW = db.Query(
    """
    SELECT tenant_id, workflow_version, sequence, active FROM orchestrator.trigger_workflows
    WHERE workflow_id = :workflow_id FOR UPDATE
    """
)
_UPSERT_WORKFLOW = db.Query(
    """
    INSERT INTO orchestrator.trigger_workflows
        (workflow_id, tenant_id, workflow_version, sequence, active, graph, updated_at)
    VALUES (:workflow_id, :tenant_id, :workflow_version, :sequence, :active, :graph, :now)
    ON CONFLICT (workflow_id) DO UPDATE SET tenant_id = excluded.tenant_id,
        workflow_version = excluded.workflow_version, sequence = excluded.sequence,
        active = excluded.active, graph = excluded.graph, updated_at = excluded.updated_at
    """
)
_SET_SEQUENCE = db.Query(
    """
    UPDATE orchestrator.trigger_workflows SET sequence = :sequence, updated_at = :now
    WHERE workflow_id = :workflow_id
    """
)
_DELETE_TRIGGERS = db.Query(
    "DELETE FROM orchestrator.triggers WHERE workflow_id = :workflow_id AND tenant_id = :tenant_id"
)
_INSERT_TRIGGER = db.Query(
    """
    INSERT INTO orchestrator.triggers (workflow_id, node_id, tenant_id, workflow_version, kind,
        config, next_fire_at, created_at)
    VALUES (:workflow_id, :node_id, :tenant_id, :workflow_version, :kind, :config,
        :next_fire_at, :now)
    """
)


@dataclass(frozen=True)
class TriggerRow:
    node_id: str
    kind: TriggerKind
    config_json: str
    next_fire_at: datetime | None


def trigger_rows(graph: WorkflowGraph, now: datetime) -> list[TriggerRow]:
    """The graph's cron, event and webhook triggers, their configs validated (a bad one
    raises pydantic's ValidationError: the activation is dead-lettered with the reason)."""
    rows = []
    for node in graph.nodes:
        kind = KIND_OF_TYPE.get(node.type)
        if kind is not None:
            rows.append(_row(node, kind, now))
    if rows:
        _check_runnable(graph, rows[0].node_id)
    return rows


def _check_runnable(graph: WorkflowGraph, trigger_id: str) -> None:
    """Refuse now a graph every start would refuse (a cycle, a dangling edge)."""
    try:
        readiness.initial_states(GraphIndex(graph), trigger_id)
    except readiness.InvalidGraphError as exc:
        raise PermanentMessageError(f"the workflow's graph cannot run: {exc}") from exc


def _row(node: Node, kind: TriggerKind, now: datetime) -> TriggerRow:
    next_fire_at = None
    if kind == "cron":
        cron = CronTriggerConfig.model_validate(node.config)
        next_fire_at = next_fire(cron.expression, cron.timezone, now)
        config_json = cron.model_dump_json()
    elif kind == "event":
        config_json = EventTriggerConfig.model_validate(node.config).model_dump_json()
    else:
        config_json = WebhookTriggerConfig.model_validate(node.config).model_dump_json()
    return TriggerRow(node.id, kind, config_json, next_fire_at)


async def _current(
    conn: db.Connection, command: WorkflowActivated | WorkflowDeactivated
) -> db.Record | None:
    """The workflow's registry row, locked; None if never seen. Another tenant's is refused."""
    current = await _LOCK_WORKFLOW.fetchrow(conn, workflow_id=command.workflow_id)
    if current is not None and current["tenant_id"] != command.tenant_id:
        raise PermanentMessageError(f"workflow {command.workflow_id} belongs to another tenant")
    return current


async def activate(conn: db.Connection, command: WorkflowActivated, now: datetime) -> bool:
    """Register this version's triggers in place of the workflow's; False when the message
    is not newer than the last change applied."""
    rows = trigger_rows(command.graph, now)
    current = await _current(conn, command)
    ids = {"workflow_id": command.workflow_id, "tenant_id": command.tenant_id}
    if current is not None:
        if current["sequence"] >= command.sequence:
            return False
        if current["active"] and current["workflow_version"] == command.workflow_version:
            # Already on, for this very version: keep the rows (and the schedules' next slot).
            await _SET_SEQUENCE.execute(
                conn, workflow_id=command.workflow_id, sequence=command.sequence, now=now
            )
            return False
    await _DELETE_TRIGGERS.execute(conn, **ids)
    await _UPSERT_WORKFLOW.execute(
        conn,
        **ids,
        workflow_version=command.workflow_version,
        sequence=command.sequence,
        active=True,
        graph=jsonb_safe(command.graph.model_dump_json()),
        now=now,
    )
    for row in rows:
        await _INSERT_TRIGGER.execute(
            conn,
            **ids,
            node_id=row.node_id,
            workflow_version=command.workflow_version,
            kind=row.kind,
            config=row.config_json,
            next_fire_at=row.next_fire_at,
            now=now,
        )
    return True


async def deactivate(conn: db.Connection, command: WorkflowDeactivated, now: datetime) -> None:
    current = await _current(conn, command)
    if current is not None and current["sequence"] >= command.sequence:
        return
    ids = {"workflow_id": command.workflow_id, "tenant_id": command.tenant_id}
    await _DELETE_TRIGGERS.execute(conn, **ids)
    # Recorded even for a workflow never seen active: a late activation must stay ignored.
    await _UPSERT_WORKFLOW.execute(
        conn,
        **ids,
        workflow_version=0 if current is None else current["workflow_version"],
        sequence=command.sequence,
        active=False,
        graph=None,
        now=now,
    )


def register(deps: Deps) -> None:
    broker = deps.broker

    @broker.subscriber(ACTIVATED_QUEUE, COMMANDS_EXCHANGE, decoder=undecoded)
    async def workflow_activated(message: RabbitMessage) -> None:
        command = WorkflowActivated.model_validate_json(message.body)
        async with requeue_or_park(message):
            await deps.transaction(lambda conn: activate(conn, command, utcnow()))

    @broker.subscriber(DEACTIVATED_QUEUE, COMMANDS_EXCHANGE, decoder=undecoded)
    async def workflow_deactivated(message: RabbitMessage) -> None:
        command = WorkflowDeactivated.model_validate_json(message.body)
        async with requeue_or_park(message):
            await deps.transaction(lambda conn: deactivate(conn, command, utcnow()))
