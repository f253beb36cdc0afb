"""Live partial output of running nodes (an AI node's text as it streams) for the gateways.

`ProgressPublisher.for_node(ready)` gives a runner a `ProgressSink`. Text is batched: a
chunk goes out when ~1 KiB has gathered, ~100 ms after the first unsent piece, or on
`flush()`, so a fast stream makes a few messages, not one per token. Each is a
`NodeProgress` (index counting from 0 per attempt) on the status exchange under
`progress_key`, not persistent and not mandatory (nobody watching is fine).

Best effort by design: a viewer that misses chunks still gets the whole output in
`node.succeeded`. A publish that fails or takes longer than `PUBLISH_TIMEOUT_S` is dropped
(logged at debug; its index is spent, so a viewer can tell), and never fails the node.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from faststream.rabbit import RabbitBroker

from portico_contracts.messages import NodeProgress, NodeReady
from portico_contracts.topology import STATUS_EXCHANGE, progress_key
from portico_executors.nodes.base import ProgressSink

logger = logging.getLogger("portico.executors.progress")

FLUSH_INTERVAL_S = 0.1
FLUSH_CHARS = 1024
# How long the stream may be held up by one publish before that chunk is given up.
PUBLISH_TIMEOUT_S = 1.0


class ProgressChannel(Protocol):
    async def publish(self, body: bytes, routing_key: str) -> None: ...


class BrokerChannel:
    """Publishes on the executor's broker (its confirms bound the wait)."""

    def __init__(self, broker: RabbitBroker) -> None:
        self.broker = broker

    async def publish(self, body: bytes, routing_key: str) -> None:
        await self.broker.publish(
            body,
            exchange=STATUS_EXCHANGE,
            routing_key=routing_key,
            mandatory=False,  # no gateway listening is not an error
            persist=False,
            content_type="application/json",
        )


class NodeProgressSink:
    """The sink of one attempt of one node; used by that run only."""

    def __init__(
        self,
        channel: ProgressChannel,
        ready: NodeReady,
        interval_s: float = FLUSH_INTERVAL_S,
        max_chars: int = FLUSH_CHARS,
    ) -> None:
        self.channel = channel
        self.ready = ready
        self.routing_key = progress_key(ready.tenant_id, ready.workflow_id, ready.execution_id)
        self.interval_s = interval_s
        self.max_chars = max_chars
        self.index = 0
        self._pending: list[str] = []
        self._pending_chars = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timed: set[asyncio.Task[None]] = set()
        # One publish at a time, so chunks leave in index order.
        self._lock = asyncio.Lock()

    async def emit(self, text: str) -> None:
        if not text:
            return
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars >= self.max_chars:
            await self._ship()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self._on_timer)

    async def flush(self) -> None:
        await self._ship()
        if self._timed:  # a timer's publish under way: let it finish (bounded by its timeout)
            await asyncio.gather(*self._timed, return_exceptions=True)

    def _on_timer(self) -> None:
        self._timer = None
        task = asyncio.create_task(self._ship())
        self._timed.add(task)
        task.add_done_callback(self._timed.discard)

    async def _ship(self) -> None:
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_chars = 0
            index, self.index = self.index, self.index + 1
            await self._publish(index, text)

    async def _publish(self, index: int, text: str) -> None:
        ready = self.ready
        message = NodeProgress(
            tenant_id=ready.tenant_id,
            execution_id=ready.execution_id,
            workflow_id=ready.workflow_id,
            node_id=ready.node_id,
            attempt=ready.attempt,
            index=index,
            text=text,
        )
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self.channel.publish(message.model_dump_json().encode(), self.routing_key)
        except Exception as exc:  # best effort: a lost chunk is only a chunk not shown live
            logger.debug(
                "progress %d of node %s (execution %s) dropped: %s",
                index,
                ready.node_id,
                ready.execution_id,
                type(exc).__name__,
            )


class ProgressPublisher:
    """The executors' ProgressFactory. Built before the broker it publishes on, so the
    service can be handed it; `bind` the broker (or any channel) before nodes run."""

    def __init__(self, channel: ProgressChannel | None = None) -> None:
        self.channel = channel

    def bind(self, channel: ProgressChannel) -> None:
        self.channel = channel

    def for_node(self, ready: NodeReady) -> ProgressSink:
        return NodeProgressSink(self.channel or _Unbound(), ready)


class _Unbound:
    async def publish(self, body: bytes, routing_key: str) -> None:
        raise RuntimeError("progress publisher has no channel yet")
