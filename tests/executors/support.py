"""Helpers the executors tests share: NodeReady factory, test settings, a broker client."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aio_pika

from portico_contracts.messages import ExecutionInfo, NodeReady, NodeResult, new_id
from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    NODE_RESULT,
    NODES_EXCHANGE,
    RESULTS_EXCHANGE,
    node_ready_key,
)
from portico_executors.config import Settings


def make_ready(node_type: str, config: dict[str, Any], **fields: Any) -> NodeReady:
    execution_id = fields.pop("execution_id", new_id())
    values: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "execution_id": execution_id,
        "workflow_id": "wf-1",
        "node_id": f"{node_type}-node",
        "node_type": node_type,
        "attempt": 1,
        "config": config,
        "execution": ExecutionInfo(
            id=execution_id,
            workflow_id="wf-1",
            started_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
    }
    values.update(fields)
    return NodeReady(**values)


def executor_settings(amqp_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "amqp_url": amqp_url,
        "http_allow_hosts": ("127.0.0.1",),
        # The orchestrator's tests share this vhost: leave its results queue to it.
        "declare_results_queue": False,
        "graceful_timeout_s": 3.0,
    }
    values.update(overrides)
    return Settings(**values)


class NodeClient:
    """Publishes NodeReady like the orchestrator does and hands back the matching NodeResult."""

    def __init__(
        self, connection: aio_pika.abc.AbstractConnection, channel: aio_pika.abc.AbstractChannel
    ) -> None:
        self.connection = connection
        self.channel = channel
        self.pending: dict[str, asyncio.Future[NodeResult]] = {}
        self.raw_results: dict[str, aio_pika.abc.AbstractIncomingMessage] = {}
        self.result_counts: Counter[str] = Counter()
        self.dead: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        self.nodes: aio_pika.abc.AbstractExchange

    async def start(self) -> None:
        self.nodes = await self.channel.declare_exchange(
            NODES_EXCHANGE.name, NODES_EXCHANGE.type.value, durable=True
        )
        results = await self.channel.declare_exchange(
            RESULTS_EXCHANGE.name, RESULTS_EXCHANGE.type.value, durable=True
        )
        dlx = await self.channel.declare_exchange(
            DEAD_LETTER_EXCHANGE.name, DEAD_LETTER_EXCHANGE.type.value, durable=True
        )
        results_queue = await self.channel.declare_queue(exclusive=True)
        await results_queue.bind(results, NODE_RESULT)
        await results_queue.consume(self._on_result, no_ack=True)
        # A private queue on the fanout DLX: sees every dead letter without taking them from
        # `portico.dead`, which other services' tests in this vhost may read.
        dead_queue = await self.channel.declare_queue(exclusive=True)
        await dead_queue.bind(dlx, "")
        await dead_queue.consume(self.dead.put, no_ack=True)

    async def _on_result(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        key = message.correlation_id or ""
        self.raw_results[key] = message
        self.result_counts[key] += 1
        future = self.pending.get(key)
        if future is not None and not future.done():
            future.set_result(NodeResult.model_validate_json(message.body))

    def expect(self, ready: NodeReady) -> asyncio.Future[NodeResult]:
        future = self.pending[ready.message_id] = asyncio.get_running_loop().create_future()
        return future

    async def publish(
        self, ready: NodeReady, headers: dict[str, Any] | None = None
    ) -> asyncio.Future[NodeResult]:
        future = self.expect(ready)
        await self.publish_raw(ready.model_dump_json().encode(), ready.node_type, headers)
        return future

    async def publish_raw(
        self, body: bytes, node_type: str, headers: dict[str, Any] | None = None
    ) -> None:
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            headers=headers,
        )
        await self.nodes.publish(message, routing_key=node_ready_key(node_type))

    async def queue_counts(self, name: str) -> tuple[int, int] | None:
        """(messages, consumers) of a queue, None if it does not exist (own channel: a
        passive declare of a missing queue closes the channel it runs on)."""
        async with self.connection.channel() as channel:
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                return None
            result = queue.declaration_result
            return result.message_count or 0, result.consumer_count or 0

    async def wait_for_consumers(self, name: str, count: int, within_s: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + within_s
        while (counts := await self.queue_counts(name)) is None or counts[1] != count:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{name} has {counts} (messages, consumers), not {count}")
            await asyncio.sleep(0.1)

    async def run(self, ready: NodeReady, within_s: float = 10.0) -> NodeResult:
        future = await self.publish(ready)
        return await asyncio.wait_for(future, within_s)
