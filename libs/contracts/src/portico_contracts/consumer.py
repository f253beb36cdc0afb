"""A consumer on plain aio-pika, for the queues every message of a run passes through.

FastStream's subscriber layers (context, middlewares, logging, message wrappers) cost about a
fifth of a service's CPU per message on the node.ready and node.result paths, in line with
its own measured overhead per hop; these two queues are consumed here instead. The rules of
`DeadLetterMiddleware` apply unchanged (see dead_letter.py):
- a delivery that came back unsettled (`redelivered`: its consumer died holding it) is not run;
  a copy counting its returns goes back to its queue, and at the limit to the dead letters;
- a handler that raises one of `UNPROCESSABLE` has its message dead-lettered with the reason;
- a handler that raises FastStream's `NackMessage` has its delivery given back at once (it
  paused already); one that fails otherwise gives it back after a pause, so a bug that fails
  every time ends in the dead letters, counted, instead of looping.

Acks belong to the handler. Stopping cancels the consumers, lets the handlers in progress
finish for up to `graceful_timeout_s`, then closes the connection: RabbitMQ requeues whatever
is still unacked.
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
    AbstractQueue,
    AbstractRobustConnection,
)
from faststream.exceptions import NackMessage
from faststream.rabbit import RabbitExchange, RabbitQueue

from portico_contracts.dead_letter import (
    RETRY_PAUSE_S,
    UNPROCESSABLE,
    Republish,
    after_redelivery,
    reason_for,
    to_dead_letters,
)
from portico_contracts.topology import DEAD_LETTER_EXCHANGE

logger = logging.getLogger("portico.consumer")

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]
# How long a publish waits for the broker's confirm.
PUBLISH_TIMEOUT_S = 10.0


class DirectConsumer:
    """Consumes `queues`, each declared as topology.py defines it and bound to its exchange,
    on one channel of its own (publisher confirms on, returns raise)."""

    def __init__(
        self,
        amqp_url: str,
        queues: Sequence[tuple[RabbitQueue, RabbitExchange]],
        prefetch: int,
        graceful_timeout_s: float,
        give_back_pause_s: float = RETRY_PAUSE_S,
    ) -> None:
        self._amqp_url = amqp_url
        self._queues = list(queues)
        self._prefetch = prefetch
        self._graceful_timeout_s = graceful_timeout_s
        self._give_back_pause_s = give_back_pause_s
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._consumers: list[tuple[AbstractQueue, str]] = []
        self._running: set[asyncio.Task[Any]] = set()

    async def connect(self) -> None:
        """The connection and channel; declare what is published on it (`exchange`) next."""
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        await self._channel.set_qos(prefetch_count=self._prefetch)
        await self._declare_exchange(DEAD_LETTER_EXCHANGE)

    async def consume(self, handler: Handler) -> None:
        channel = self._connected()
        on_message = self._on_message(handler)
        for spec, exchange in self._queues:
            queue = await channel.declare_queue(
                spec.name, durable=True, arguments=dict(spec.arguments or {})
            )
            await queue.bind(await self._declare_exchange(exchange), routing_key=spec.routing())
            self._consumers.append((queue, await queue.consume(on_message)))

    def _connected(self) -> AbstractChannel:
        if self._channel is None:
            raise RuntimeError("the consumer is not connected yet")
        return self._channel

    async def exchange(self, spec: RabbitExchange) -> AbstractExchange:
        """`spec` declared on the consumer's channel, to publish on (after `connect`)."""
        return await self._declare_exchange(spec)

    async def _declare_exchange(self, spec: RabbitExchange) -> AbstractExchange:
        if (known := self._exchanges.get(spec.name)) is not None:
            return known
        declared = await self._connected().declare_exchange(
            spec.name, aio_pika.ExchangeType(spec.type.value), durable=True
        )
        self._exchanges[spec.name] = declared
        return declared

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
                logger.warning("%d messages still in hand at shutdown; requeueing them", len(late))
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
        except NackMessage:  # the handler paused already (a database that stays away)
            if not message.processed:
                await message.nack(requeue=True)
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
                timeout=PUBLISH_TIMEOUT_S,
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
        channel = self._connected()
        if not name:  # a copy of a message sent straight to its queue
            return channel.default_exchange
        return await channel.get_exchange(name, ensure=False)

    async def _give_back(self, message: AbstractIncomingMessage) -> None:
        """Requeue after a pause (it comes back flagged redelivered, and is counted then)."""
        await asyncio.sleep(self._give_back_pause_s)
        if not message.processed:
            await message.nack(requeue=True)
