"""The node.ready consumer's own rules, against the real broker, with handlers that misbehave:
a failing handler gives its delivery back and sees a counted copy next; a delivery that keeps
coming back ends in the dead letters with the reason; stopping lets a running node finish."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage

from portico_contracts.consumer import DirectConsumer
from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DEAD_LETTER_REASON_HEADER,
    DELIVERIES_HEADER,
    DELIVERY_LIMIT,
    NODES_EXCHANGE,
    executor_queue,
    node_ready_key,
)

pytestmark = pytest.mark.asyncio


class Broker:
    """A publisher of node.ready, and a private queue on the dead letters."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel, dead: aio_pika.abc.AbstractQueue):
        self.channel = channel
        self.dead = dead

    async def send(self, node_type: str, body: bytes) -> None:
        exchange = await self.channel.get_exchange(NODES_EXCHANGE.name)
        await exchange.publish(
            aio_pika.Message(body, message_id=str(uuid.uuid4())),
            routing_key=node_ready_key(node_type),
        )


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel()
    await channel.declare_exchange(NODES_EXCHANGE.name, aio_pika.ExchangeType.TOPIC, durable=True)
    dead_letters = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE.name, aio_pika.ExchangeType.FANOUT, durable=True
    )
    dead = await channel.declare_queue(exclusive=True)
    await dead.bind(dead_letters)
    yield Broker(channel, dead)
    # Leave nothing in `portico.dead` (if this vhost has it) for other tests to read.
    with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
        await (await channel.get_queue(DEAD_LETTER_QUEUE.name)).purge()
    await connection.close()


@pytest.fixture
def node_type() -> str:
    return f"consumer-test-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def consuming(
    amqp_url: str, broker: Broker, node_type: str, handler: Any
) -> AsyncIterator[DirectConsumer]:
    """As the executors consume node.ready, with a short pause before giving a delivery back;
    stopped (again, if the test did) and its queue deleted afterwards."""
    queues = [(executor_queue(node_type), NODES_EXCHANGE)]
    consumer = DirectConsumer(amqp_url, queues, 8, graceful_timeout_s=5, give_back_pause_s=0.01)
    await consumer.connect()
    await consumer.consume(handler)
    try:
        yield consumer
    finally:
        await consumer.stop()
        await broker.channel.queue_delete(executor_queue(node_type).name)


async def test_a_failing_handler_gives_the_delivery_back_counted(
    amqp_url: str, broker: Broker, node_type: str
) -> None:
    seen: list[Any] = []
    handled = asyncio.Event()

    async def handler(message: AbstractIncomingMessage) -> None:
        seen.append(message.headers.get(DELIVERIES_HEADER))
        if len(seen) == 1:
            raise RuntimeError("a bug")
        await message.ack()
        handled.set()

    async with consuming(amqp_url, broker, node_type, handler):
        await broker.send(node_type, b"{}")
        await asyncio.wait_for(handled.wait(), 10)
    # The given-back delivery came back flagged redelivered and was replaced by a counted copy.
    assert seen == [None, 1]
    assert await broker.dead.get(fail=False) is None


async def test_a_delivery_that_always_fails_ends_in_the_dead_letters(
    amqp_url: str, broker: Broker, node_type: str
) -> None:
    calls = 0

    async def handler(message: AbstractIncomingMessage) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("fails every time")

    async with consuming(amqp_url, broker, node_type, handler):
        await broker.send(node_type, b'{"poison": true}')
        dead = await _next_dead_letter(broker)
    assert dead.body == b'{"poison": true}'
    assert "without being settled" in str(dead.headers[DEAD_LETTER_REASON_HEADER])
    assert dead.headers["x-portico-original-routing-key"] == node_ready_key(node_type)
    assert calls == DELIVERY_LIMIT  # the first delivery and the counted copies below the limit


async def test_an_unreadable_body_is_dead_lettered_with_the_reason(
    amqp_url: str, broker: Broker, node_type: str
) -> None:
    from portico_contracts.messages import NodeReady

    async def handler(message: AbstractIncomingMessage) -> None:
        NodeReady.model_validate_json(message.body)

    async with consuming(amqp_url, broker, node_type, handler):
        await broker.send(node_type, b"{not json")
        dead = await _next_dead_letter(broker)
    assert "invalid NodeReady" in str(dead.headers[DEAD_LETTER_REASON_HEADER])


async def test_stopping_lets_a_running_node_finish(
    amqp_url: str, broker: Broker, node_type: str
) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def handler(message: AbstractIncomingMessage) -> None:
        started.set()
        await asyncio.sleep(0.3)
        await message.ack()
        finished.append("acked")

    async with consuming(amqp_url, broker, node_type, handler) as consumer:
        await broker.send(node_type, b"{}")
        await asyncio.wait_for(started.wait(), 10)
        await consumer.stop()
        assert finished == ["acked"]
        queue = await broker.channel.declare_queue(
            f"executor.{node_type}", durable=True, passive=True
        )
        assert queue.declaration_result.message_count == 0


async def _next_dead_letter(broker: Broker) -> aio_pika.abc.AbstractIncomingMessage:
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        message = await broker.dead.get(fail=False, no_ack=True)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    raise TimeoutError("nothing reached the dead letters")
