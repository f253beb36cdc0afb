"""The node.ready queues on plain aio-pika: consume, hand each delivery to the handler, publish
its result with a confirm.

Every node passes through here, so it skips FastStream: its subscriber and publisher layers
(context, middlewares, logging, message wrappers) cost about a fifth of the executor's CPU per
node in the profile, around what its own docs measure per hop. What FastStream's
`DeadLetterMiddleware` does for the other consumers is done here with the same rules
(`portico_contracts.dead_letter`):
- a delivery that came back unsettled (`redelivered`: its consumer died holding it) is not run;
  a copy counting its returns goes back to its queue, and at the limit to the dead letters;
- a body that does not parse is dead-lettered with the reason;
- a handler that fails unexpectedly gives the delivery back after a pause, so a bug that
  fails every time ends in the dead letters, counted, instead of looping.

Acks belong to the handler (see handlers.py). Stopping cancels the consumers, lets running
nodes finish for up to `graceful_timeout_s`, then closes the channel: RabbitMQ requeues
whatever is still unacked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
    FieldValue,
)

from portico_contracts.dead_letter import (
    RETRY_PAUSE_S,
    UNPROCESSABLE,
    Republish,
    after_redelivery,
    reason_for,
    to_dead_letters,
)
from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    NODE_RESULT,
    NODES_EXCHANGE,
    RESULTS_EXCHANGE,
    executor_queue,
)

logger = logging.getLogger("portico.executors.consumer")

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
_PUBLISH_TIMEOUT_S = 10.0


class ResultPublisher:
    """Publishes node results on the consumer's channel (persistent, confirmed, mandatory:
    a result no queue takes raises instead of vanishing)."""

    def __init__(self) -> None:
        self._exchange: AbstractExchange | None = None

    def bind(self, exchange: AbstractExchange) -> None:
        self._exchange = exchange

    async def publish(
        self,
        body: bytes,
        *,
        message_id: str,
        correlation_id: str,
        headers: dict[str, FieldValue] | None,
    ) -> None:
        if self._exchange is None:
            raise RuntimeError("the result publisher is not connected yet")
        await self._exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id,
                correlation_id=correlation_id,
                headers=headers,
            ),
            routing_key=NODE_RESULT,
            mandatory=True,
            timeout=_PUBLISH_TIMEOUT_S,
        )


class NodeReadyConsumer:
    def __init__(
        self,
        amqp_url: str,
        node_types: Sequence[str],
        prefetch: int,
        graceful_timeout_s: float,
        results: ResultPublisher,
    ) -> None:
        self._amqp_url = amqp_url
        self._node_types = list(node_types)
        self._prefetch = prefetch
        self._graceful_timeout_s = graceful_timeout_s
        self._results = results
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumers: list[tuple[aio_pika.abc.AbstractQueue, str]] = []
        self._running: set[asyncio.Task[Any]] = set()

    async def start(self, handler: Handler) -> None:
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        await self._channel.set_qos(prefetch_count=self._prefetch)
        for exchange in (NODES_EXCHANGE, RESULTS_EXCHANGE, DEAD_LETTER_EXCHANGE):
            self._exchanges[exchange.name] = await self._channel.declare_exchange(
                exchange.name, aio_pika.ExchangeType(exchange.type.value), durable=True
            )
        self._results.bind(self._exchanges[RESULTS_EXCHANGE.name])
        on_message = self._on_message(handler)
        for node_type in self._node_types:
            spec = executor_queue(node_type)
            queue = await self._channel.declare_queue(
                spec.name, durable=True, arguments=dict(spec.arguments or {})
            )
            await queue.bind(self._exchanges[NODES_EXCHANGE.name], routing_key=spec.routing())
            self._consumers.append((queue, await queue.consume(on_message)))

    async def stop(self) -> None:
        for queue, tag in self._consumers:
            try:
                await queue.cancel(tag)
            except Exception as exc:  # the connection is gone: nothing more will arrive
                logger.info("could not cancel consumer %s: %r", tag, exc)
        self._consumers = []
        if self._running:
            _, late = await asyncio.wait(self._running, timeout=self._graceful_timeout_s)
            if late:
                logger.warning("%d nodes still running at shutdown; requeueing them", len(late))
        if self._connection is not None:
            # Unacked deliveries go back to their queues with the channel.
            await self._connection.close()
            self._connection = None

    def _on_message(self, handler: Handler) -> Handler:
        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await self._settle(handler, message)
            finally:
                if task is not None:
                    self._running.discard(task)

        return on_message

    async def _settle(self, handler: Handler, message: AbstractIncomingMessage) -> None:
        if message.redelivered:
            plan = after_redelivery(
                message.headers, message.exchange or "", message.routing_key or ""
            )
            await self._republish(message, plan)
            return
        try:
            await handler(message)
        except UNPROCESSABLE as exc:
            plan = to_dead_letters(
                message.headers,
                message.exchange or "",
                message.routing_key or "",
                reason_for(exc),
            )
            await self._republish(message, plan)
        except Exception:
            logger.exception("message %s failed; giving it back", message.message_id)
            await self._give_back(message)

    async def _republish(self, message: AbstractIncomingMessage, plan: Republish) -> None:
        try:
            exchange = await self._exchange(plan.exchange)
            await exchange.publish(
                aio_pika.Message(
                    message.body,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    headers=plan.headers,
                ),
                routing_key=plan.routing_key,
                timeout=_PUBLISH_TIMEOUT_S,
            )
        except Exception as exc:
            logger.warning("could not re-route message %s (%r)", message.message_id, exc)
            await self._give_back(message)
            return
        await message.ack()
        if plan.reason is not None:
            logger.warning("dead-lettered message %s: %s", message.message_id, plan.reason)
        else:
            logger.warning("message %s came back unsettled", message.message_id)

    async def _exchange(self, name: str) -> AbstractExchange:
        if (known := self._exchanges.get(name)) is not None:
            return known
        if self._channel is None:
            raise RuntimeError("the consumer is not connected")
        if not name:  # a copy of a message sent straight to its queue
            return self._channel.default_exchange
        return await self._channel.get_exchange(name, ensure=False)

    async def _give_back(self, message: AbstractIncomingMessage) -> None:
        """Requeue after a pause (it comes back flagged redelivered, and is counted then)."""
        await asyncio.sleep(RETRY_PAUSE_S)
        if not message.processed:
            await message.nack(requeue=True)
