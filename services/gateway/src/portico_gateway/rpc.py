"""Request/reply over RabbitMQ's direct reply-to, many calls in flight on one channel.

Why not `RabbitBroker.request`: in FastStream 0.7 it holds one broker-wide lock for the whole
round trip (one call in flight per process), does not bound the wait for that lock by the
timeout, and takes whatever reply arrives next without checking its correlation id, so a late
reply to a timed-out call is handed to the following caller. Here every call gets its own
correlation id and future; a late reply finds no future and is dropped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, DeliveryMode
from aio_pika.exceptions import AMQPError, PublishError
from aiormq.exceptions import ChannelNotFoundEntity

REPLY_TO = "amq.rabbitmq.reply-to"
# Publishing (with its confirm) is bounded separately from waiting for the answer, so a
# caller knows whether its message reached the broker.
PUBLISH_TIMEOUT_S = 10.0
# How long a call waits for a reconnect in progress before answering "unreachable".
RESTORE_WAIT_S = 1.0


class RpcCallError(Exception):
    """Base of everything `RpcClient.call` raises."""


class BrokerUnreachableError(RpcCallError):
    """The request could not be handed to RabbitMQ."""


class UnroutableError(RpcCallError):
    """RabbitMQ took the request but no queue is bound to it: nobody could ever answer."""


class ReplyTimeoutError(RpcCallError):
    """The request is with RabbitMQ, but no reply came in time."""


class RpcClient:
    def __init__(self, open_channel: Callable[[], Awaitable[AbstractRobustChannel]]) -> None:
        self._open_channel = open_channel
        self._channel: AbstractRobustChannel | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def start(self) -> None:
        channel = await self._open_channel()
        # Direct reply-to needs the consumer on the same channel the requests leave from.
        replies = await channel.declare_queue(REPLY_TO, passive=True)
        await replies.consume(self._on_reply, no_ack=True)
        self._channel = channel

    async def stop(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrokerUnreachableError("the gateway is shutting down"))
        self._pending.clear()
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = None

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    async def call(
        self,
        body: bytes,
        *,
        routing_key: str,
        exchange: str = "",
        wait_s: float,
        persistent: bool = False,
        expires: bool = True,
    ) -> bytes:
        """Publish `body` with a confirm, then wait up to `wait_s` seconds for the reply.

        With `expires`, the request dies in the queue when its caller stops waiting, so a
        consumer that comes back later does not answer questions nobody is asking any more.
        """
        channel = self._channel
        if channel is None or channel.is_closed:
            raise BrokerUnreachableError("not connected to RabbitMQ")
        await self._restored(channel)
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            message = aio_pika.Message(
                body,
                content_type="application/json",
                correlation_id=correlation_id,
                reply_to=REPLY_TO,
                delivery_mode=DeliveryMode.PERSISTENT
                if persistent
                else DeliveryMode.NOT_PERSISTENT,
                expiration=wait_s if expires else None,
                message_id=correlation_id,
            )
            await self._publish(channel, message, routing_key, exchange)
            try:
                return await asyncio.wait_for(future, wait_s)
            except TimeoutError:
                raise ReplyTimeoutError(f"no reply within {wait_s:g}s") from None
        finally:
            self._pending.pop(correlation_id, None)

    async def consumer_count(self, queue: str) -> int:
        """How many consumers `queue` has right now (0 when it does not exist).

        For calls that wait long for their answer: a queue left behind by consumers that are
        gone takes the request silently, and its caller would wait out the whole timeout.
        Asked on a throwaway channel, because a passive declare of a missing queue closes the
        channel it was sent on.
        """
        channel = self._channel
        if channel is None or channel.is_closed:
            raise BrokerUnreachableError("not connected to RabbitMQ")
        try:
            underlay = await channel.get_underlay_channel()
            probe = await underlay.connection.channel(publisher_confirms=False)
            try:
                declared = await probe.queue_declare(queue, passive=True, timeout=PUBLISH_TIMEOUT_S)
            except ChannelNotFoundEntity:
                return 0
            finally:
                if not probe.is_closed:
                    await probe.close()
        except (AMQPError, ConnectionError, OSError, RuntimeError, TimeoutError) as exc:
            raise BrokerUnreachableError(f"could not ask RabbitMQ about {queue}: {exc!r}") from exc
        return declared.consumer_count or 0

    @staticmethod
    async def _restored(channel: AbstractRobustChannel) -> None:
        """Wait briefly for a reconnect in progress to restore the reply consumer.

        A request published on a reopened channel before its reply-to consumer is back makes
        RabbitMQ close the channel ("fast reply consumer does not exist"), which fails the
        whole restore and sets the reconnect back by seconds: under steady traffic the
        gateway then kept answering 503 long after RabbitMQ was back.
        """
        try:
            await asyncio.wait_for(channel.ready(), RESTORE_WAIT_S)
        except TimeoutError:
            raise BrokerUnreachableError("reconnecting to RabbitMQ") from None

    @staticmethod
    async def _publish(
        channel: AbstractRobustChannel, message: aio_pika.Message, routing_key: str, exchange: str
    ) -> None:
        try:
            target = (
                await channel.get_exchange(exchange, ensure=False)
                if exchange
                else channel.default_exchange
            )
            await target.publish(
                message, routing_key=routing_key, mandatory=True, timeout=PUBLISH_TIMEOUT_S
            )
        except PublishError as exc:
            raise UnroutableError(
                f"no queue is bound to {exchange or '(default)'}/{routing_key}"
            ) from exc
        except (AMQPError, ConnectionError, OSError, RuntimeError, TimeoutError) as exc:
            raise BrokerUnreachableError(f"could not publish to RabbitMQ: {exc!r}") from exc
