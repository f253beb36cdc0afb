"""Plays everyone around the orchestrator: the gateway (commands, RPC) and the executors.

`Bus` receives every `node.ready.*` on a private queue bound to `portico.nodes`, and every status
message (a transaction's events) on one bound to `portico.status`, keyed by execution; tests
answer with `NodeResult`s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import (
    NodeError,
    NodeReady,
    NodeResult,
    StartExecution,
    StatusEvent,
    StatusEvents,
)
from portico_contracts.queries import RpcReply
from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EXECUTION_START,
    NODE_RESULT,
    NODES_EXCHANGE,
    ORCHESTRATOR_RPC_QUEUE_NAME,
    RESULTS_EXCHANGE,
    STATUS_EXCHANGE,
)
from portico_orchestrator.app import Orchestrator
from portico_orchestrator.step import Effects

TERMINAL = {"succeeded", "failed", "cancelled"}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_graph(nodes: list[dict[str, Any]], edges: list[tuple[str, ...]]) -> WorkflowGraph:
    """Nodes default to type `test.task` (no real executor listens for it) unless given."""
    return WorkflowGraph.model_validate(
        {
            "name": "test",
            "nodes": [{"type": "test.task", **node} for node in nodes],
            "edges": [
                {"source": e[0], "target": e[1], "source_handle": e[2] if len(e) > 2 else None}
                for e in edges
            ],
        }
    )


TRIGGER = {"id": "t", "type": "trigger.manual"}


def start_command(
    graph: WorkflowGraph,
    tenant: str,
    payload: Any = None,
    execution_id: str | None = None,
    workflow_id: str = "wf",
) -> StartExecution:
    return StartExecution(
        tenant_id=tenant,
        execution_id=execution_id or new_id("ex"),
        workflow_id=workflow_id,
        workflow_version=1,
        graph=graph,
        trigger_node_id="t",
        payload=payload,
    )


async def start_on(
    instance: Orchestrator, command: StartExecution, *, publish: bool = True
) -> tuple[str, Effects]:
    """Start an execution on this very replica (other replicas, e2e processes included,
    may share the vhost and would otherwise take the command); returns its status."""
    summary, effects = await instance.deps.transaction(
        lambda conn: instance.service.start(conn, command)
    )
    if publish:
        await instance.deps.after_commit(effects)
    return summary.status, effects


class Bus:
    def __init__(self, amqp_url: str) -> None:
        self.amqp_url = amqp_url
        self.ready_by_execution: dict[str, asyncio.Queue[NodeReady]] = defaultdict(asyncio.Queue)
        self.events: dict[str, list[StatusEvent]] = defaultdict(list)
        # The seqs each status message carried, in the order the messages came.
        self.status_messages: dict[str, list[list[int]]] = defaultdict(list)
        self.seen_ready: set[str] = set()
        self.ready_headers: dict[str, dict[str, Any]] = {}
        self.repeated_ready = 0
        self._event_arrived = asyncio.Event()
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self.client = RabbitBroker(amqp_url, logger=None)

    async def open(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_url)
        self._channel = channel = await self._connection.channel(publisher_confirms=True)
        nodes = await channel.declare_exchange(NODES_EXCHANGE.name, "topic", durable=True)
        status = await channel.declare_exchange(STATUS_EXCHANGE.name, "topic", durable=True)
        await channel.declare_exchange(RESULTS_EXCHANGE.name, "direct", durable=True)
        await channel.declare_exchange(COMMANDS_EXCHANGE.name, "direct", durable=True)
        ready_queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await ready_queue.bind(nodes, "node.ready.#")
        await ready_queue.consume(self._on_ready, no_ack=True)
        status_queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await status_queue.bind(status, "status.#")
        await status_queue.consume(self._on_status, no_ack=True)
        await self.client.connect()

    async def close(self) -> None:
        await self.client.stop()
        if self._connection is not None:
            await self._connection.close()

    async def _on_ready(self, message: AbstractIncomingMessage) -> None:
        ready = NodeReady.model_validate_json(message.body)
        # Delivery is at least once (the outbox relay may resend); executors drop repeats.
        if ready.message_id in self.seen_ready:
            self.repeated_ready += 1
            return
        self.seen_ready.add(ready.message_id)
        self.ready_headers[ready.message_id] = dict(message.headers or {})
        self.ready_by_execution[ready.execution_id].put_nowait(ready)

    async def _on_status(self, message: AbstractIncomingMessage) -> None:
        # The orchestrator sends a transaction's events as one message, never one alone.
        batch = StatusEvents.model_validate_json(message.body)
        self.events[batch.execution_id].extend(batch.events)
        self.status_messages[batch.execution_id].append([event.seq for event in batch.events])
        self._event_arrived.set()

    # --- the gateway's side ----------------------------------------------------------------

    async def request(self, body: BaseModel | dict[str, Any] | bytes, **where: Any) -> RpcReply:
        payload = body.model_dump_json() if isinstance(body, BaseModel) else body
        reply = await self.client.request(
            payload, content_type="application/json", timeout=10, **where
        )
        return RpcReply.model_validate_json(reply.body)

    async def rpc(self, body: BaseModel | dict[str, Any] | bytes) -> RpcReply:
        return await self.request(body, queue=ORCHESTRATOR_RPC_QUEUE_NAME)

    async def start(
        self,
        graph: WorkflowGraph,
        tenant: str,
        payload: Any = None,
        execution_id: str | None = None,
        workflow_id: str = "wf",
    ) -> tuple[StartExecution, RpcReply]:
        command = start_command(graph, tenant, payload, execution_id, workflow_id)
        reply = await self.request(
            command, exchange=COMMANDS_EXCHANGE.name, routing_key=EXECUTION_START
        )
        return command, reply

    async def publish(self, exchange: str, routing_key: str, body: bytes, **props: Any) -> None:
        assert self._channel is not None
        target = await self._channel.get_exchange(exchange, ensure=False) if exchange else None
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **props)
        if target is None:
            await self._channel.default_exchange.publish(message, routing_key=routing_key)
        else:
            await target.publish(message, routing_key=routing_key)

    async def execution(self, tenant: str, execution_id: str) -> dict[str, Any]:
        reply = await self.rpc(
            {"op": "get_execution", "tenant_id": tenant, "execution_id": execution_id}
        )
        assert reply.result is not None, reply
        return reply.result

    async def finished(self, tenant: str, execution_id: str, wait_s: float = 10) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            execution = await self.execution(tenant, execution_id)
            if execution["status"] in TERMINAL:
                return execution
            assert asyncio.get_running_loop().time() < deadline, execution
            await asyncio.sleep(0.02)

    # --- the executors' side ---------------------------------------------------------------

    async def ready(self, execution_id: str, wait_s: float = 10) -> NodeReady:
        return await asyncio.wait_for(self.ready_by_execution[execution_id].get(), wait_s)

    async def ready_set(self, execution_id: str, count: int) -> dict[str, NodeReady]:
        found = [await self.ready(execution_id) for _ in range(count)]
        return {ready.node_id: ready for ready in found}

    async def nothing_ready(self, execution_id: str, within: float = 0.3) -> None:
        await asyncio.sleep(within)
        queue = self.ready_by_execution[execution_id]
        assert queue.empty(), f"unexpected node.ready: {queue.get_nowait()}"

    async def answer(
        self,
        ready: NodeReady,
        status: str = "succeeded",
        *,
        output: Any = None,
        branch: str | None = None,
        error: NodeError | None = None,
        resume_at: datetime | None = None,
        attempt: int | None = None,
        message_id: str | None = None,
        **extra: Any,
    ) -> NodeResult:
        now = datetime.now(UTC)
        result = NodeResult(
            tenant_id=ready.tenant_id,
            execution_id=ready.execution_id,
            node_id=ready.node_id,
            attempt=attempt or ready.attempt,
            status=status,  # type: ignore[arg-type]
            output=output,
            branch=branch,
            error=error,
            resume_at=resume_at,
            started_at=now,
            finished_at=now,
            **({"message_id": message_id} if message_id else {}),
            **extra,
        )
        await self.send_result(result)
        return result

    async def send_result(self, result: NodeResult, headers: dict[str, Any] | None = None) -> None:
        await self.publish(
            RESULTS_EXCHANGE.name,
            NODE_RESULT,
            result.model_dump_json().encode(),
            content_type="application/json",
            message_id=result.message_id,
            headers=headers,
        )

    async def dead_letters(self, message_id: str, wait_s: float = 5) -> AbstractIncomingMessage:
        """Wait for a message in `portico.dead` (leaving others there for their owners)."""
        assert self._channel is not None
        queue = await self._channel.declare_queue(
            DEAD_LETTER_QUEUE.name, durable=True, arguments=dict(DEAD_LETTER_QUEUE.arguments or {})
        )
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            held: list[AbstractIncomingMessage] = []  # unacked, so the next get moves on
            found = None
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                if message.message_id == message_id:
                    found = message
                    break
                held.append(message)
            for other in held:
                await other.nack(requeue=True)
            if found is not None:
                await found.ack()
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"{message_id} was not dead-lettered")


async def replay(bus: Bus, tenant: str, execution_id: str) -> list[dict[str, Any]]:
    """Every stored event of an execution, checking seq runs 1, 2, 3… without gaps."""
    reply = await bus.rpc({"op": "events_since", "tenant_id": tenant, "execution_id": execution_id})
    assert reply.result is not None, reply
    events: list[dict[str, Any]] = reply.result["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert reply.result["last_seq"] == len(events)
    return events


async def published_seqs(bus: Bus, execution_id: str, last_seq: int) -> set[int]:
    """The seqs that reached `portico.status`, once every one up to `last_seq` has."""
    for _ in range(200):
        seqs = {event.seq for event in bus.events[execution_id]}
        if len(seqs) >= last_seq:
            return seqs
        await asyncio.sleep(0.02)
    return {event.seq for event in bus.events[execution_id]}


def runs_by_node(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["node_id"]: run for run in execution["node_runs"]}
