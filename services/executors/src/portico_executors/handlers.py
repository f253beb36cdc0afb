"""The node.ready handler: parse, run, publish the result with a confirm, then ack.

Acknowledgement is the handler's because three endings differ:
- result published and confirmed → ack;
- result could not be published → nack with requeue after a pause, so it runs again later;
- executor shutting down mid-wait → neither: the delivery stays unacked and RabbitMQ hands
  it to another replica when our channel closes (requeueing it here would bounce it straight
  back to this consumer while it is still draining).
A NodeReady that does not validate raises ValidationError, which the consumer (consumer.py)
turns into a dead-lettered (and acked) message.

Delivery is at least once (the orchestrator's outbox may publish a NodeReady twice), so a
message id this process is running, or has answered for good, is acked and dropped: the
repeat would only redo side effects (a second POST) for a result the orchestrator ignores.
That is per process; across replicas, a delivery that came back from a consumer that died
holding it (re-queued with a count by the consumer), or one the orchestrator's outbox
relay sent (its writer may have sent it too), of a node type with side effects is run only if
the orchestrator says its attempt still awaits a result (attempts.py). Pure node types are
simply redone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from aio_pika.abc import AbstractIncomingMessage, FieldValue

from portico_contracts.messages import NodeReady
from portico_contracts.topology import may_be_a_repeat
from portico_executors.attempts import AttemptChecker
from portico_executors.errors import Interrupted
from portico_executors.service import ExecutorService

logger = logging.getLogger("portico.executors")

# W3C trace context travels from the NodeReady to its NodeResult.
TRACE_HEADERS = ("traceparent", "tracestate")
# Pause before requeueing a message whose result could not be published: a broker in
# trouble (or a results exchange nobody listens to) should not turn into a hot loop.
PUBLISH_RETRY_DELAY_S = 1.0

NodeReadyHandler = Callable[[AbstractIncomingMessage], Awaitable[None]]


class ResultSink(Protocol):
    async def publish(
        self,
        body: bytes,
        *,
        message_id: str,
        correlation_id: str,
        headers: dict[str, FieldValue] | None,
    ) -> None: ...


class RecentMessages:
    """Ids of NodeReady messages in flight or answered for good; bounded, oldest forgotten."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.in_flight: set[str] = set()
        self.answered: OrderedDict[str, None] = OrderedDict()

    def seen(self, message_id: str) -> bool:
        return message_id in self.in_flight or message_id in self.answered

    def answer(self, message_id: str) -> None:
        self.answered[message_id] = None
        if len(self.answered) > self.size:
            self.answered.popitem(last=False)


def trace_headers(headers: Mapping[str, FieldValue]) -> dict[str, FieldValue] | None:
    found = {name: headers[name] for name in TRACE_HEADERS if name in headers}
    return found or None


def make_node_ready_handler(
    service: ExecutorService,
    publisher: ResultSink,
    checker: AttemptChecker,
    recent: RecentMessages | None = None,
) -> NodeReadyHandler:
    recent = recent or RecentMessages()

    async def handle_node_ready(msg: AbstractIncomingMessage) -> None:
        ready = NodeReady.model_validate_json(msg.body)
        if recent.seen(ready.message_id):
            await msg.ack()
            return
        recent.in_flight.add(ready.message_id)
        try:
            if await _settled_elsewhere(msg, ready):
                await msg.ack()
                recent.answer(ready.message_id)
                return
            await _run_and_answer(msg, ready)
        finally:
            recent.in_flight.discard(ready.message_id)

    async def _settled_elsewhere(msg: AbstractIncomingMessage, ready: NodeReady) -> bool:
        maybe_repeat = may_be_a_repeat(bool(msg.redelivered), msg.headers)
        if not maybe_repeat or not service.has_side_effects(ready.node_type):
            return False
        return not await checker.awaiting(ready)

    async def _run_and_answer(msg: AbstractIncomingMessage, ready: NodeReady) -> None:
        try:
            result, body = await service.execute_encoded(ready)
        except Interrupted:
            return  # left unacked on purpose, see the module docstring
        try:
            await publisher.publish(
                body,
                message_id=result.message_id,
                correlation_id=ready.message_id,
                headers=trace_headers(msg.headers),
            )
        except Exception:
            logger.exception("could not publish result of %s; requeueing it", ready.message_id)
            await asyncio.sleep(PUBLISH_RETRY_DELAY_S)
            await msg.nack(requeue=True)
            return
        await msg.ack()
        if result.status != "suspended":  # a suspended wait is legitimately sent again
            recent.answer(ready.message_id)

    return handle_node_ready
