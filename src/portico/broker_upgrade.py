"""Bring RabbitMQ's work queues to the shape the services declare, keeping their messages.

RabbitMQ refuses to re-declare an existing queue with other arguments (another type, no
dead-letter exchange), so a broker holding the queues of a Portico that declared them
differently would stop every service at start-up. `upgrade_queues` (run by `portico migrate`
and `portico up`, with the services stopped) moves each such queue's messages aside into a
temporary queue, replaces the queue, and moves them back. A queue that already has the right
shape is left alone.
"""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aiormq.exceptions import ChannelPreconditionFailed
from faststream.rabbit import RabbitExchange, RabbitQueue

from portico_contracts.nodes import NODE_TYPES
from portico_contracts.topology import (
    COMMAND_CANCEL_QUEUE,
    COMMAND_START_QUEUE,
    COMMANDS_EXCHANGE,
    NODES_EXCHANGE,
    RESULTS_EXCHANGE,
    RESULTS_QUEUE,
    executor_queue,
)

logger = logging.getLogger("portico.broker_upgrade")


def work_queues() -> list[tuple[RabbitQueue, RabbitExchange]]:
    """Every durable work queue and the exchange it is bound to."""
    found = [
        (COMMAND_START_QUEUE, COMMANDS_EXCHANGE),
        (COMMAND_CANCEL_QUEUE, COMMANDS_EXCHANGE),
        (RESULTS_QUEUE, RESULTS_EXCHANGE),
    ]
    for node_type in NODE_TYPES.values():
        if not node_type.is_trigger:
            found.append((executor_queue(node_type.name), NODES_EXCHANGE))
    return found


async def _declare(channel: AbstractChannel, queue: RabbitQueue, exchange: RabbitExchange) -> None:
    declared_exchange = await channel.declare_exchange(
        exchange.name, aio_pika.ExchangeType(exchange.type.value), durable=True
    )
    declared = await channel.declare_queue(
        queue.name, durable=True, arguments=dict(queue.arguments or {})
    )
    await declared.bind(declared_exchange, routing_key=queue.routing())


async def _move(channel: AbstractChannel, source: str, target: str) -> int:
    """Every message of `source` into `target`, each acknowledged only once confirmed."""
    queue = await channel.declare_queue(source, passive=True)
    moved = 0
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        # The count of deliveries is the broker's bookkeeping of the old queue, not the message's.
        headers = {k: v for k, v in message.headers.items() if k != "x-delivery-count"}
        copy = aio_pika.Message(
            message.body,
            headers=headers or None,
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await channel.default_exchange.publish(copy, routing_key=target)
        await message.ack()
        moved += 1
    return moved


async def _upgrade_one(
    connection: AbstractRobustConnection, queue: RabbitQueue, exchange: RabbitExchange
) -> int | None:
    """None when the queue already had the right shape, else how many messages moved."""
    try:
        async with connection.channel() as channel:
            await _declare(channel, queue, exchange)
        return None
    except ChannelPreconditionFailed:
        pass  # it exists with other arguments: an earlier version's classic queue
    holding = f"{queue.name}.upgrading"
    async with connection.channel(publisher_confirms=True) as channel:
        await channel.declare_queue(holding, durable=True)
        moved = await _move(channel, queue.name, holding)
        # if_unused: a service still consuming it means it is not stopped; better to stop here.
        await channel.queue_delete(queue.name, if_unused=True)
    # A fresh channel: RabbitMQ 3.10 channels remember a queue's old type by its name, and
    # publishing to a re-created queue of another type on the same channel closes the
    # connection.
    async with connection.channel(publisher_confirms=True) as channel:
        await _declare(channel, queue, exchange)
        await _move(channel, holding, queue.name)
        await channel.queue_delete(holding)
    return moved


async def upgrade_queues(amqp_url: str) -> dict[str, int]:
    """Replace every work queue of the wrong shape; returns {queue: messages kept}."""
    connection = await aio_pika.connect_robust(amqp_url)
    upgraded: dict[str, int] = {}
    try:
        for queue, exchange in work_queues():
            moved = await _upgrade_one(connection, queue, exchange)
            if moved is not None:
                upgraded[queue.name] = moved
                logger.info("queue %s re-declared (%d messages kept)", queue.name, moved)
    finally:
        await connection.close()
    return upgraded


def upgrade(amqp_url: str) -> dict[str, int]:
    return asyncio.run(upgrade_queues(amqp_url))
