"""The gateway's RabbitMQ wiring: the FastStream broker, the status-event consumer, topology.

Each replica consumes `portico.status` through its own exclusive, auto-deleted queue: status
events and node progress are a live feed for open WebSockets and waiting webhook requests, not
work to share (RabbitMQ drops the queue when the replica goes away). The queue is bound only to
the executions and workflows something on this replica watches (status_bindings.py), so a
replica does not parse the events of every tenant to drop nearly all of them.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aio_pika.abc import AbstractRobustChannel
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.message import RabbitMessage

from portico_contracts.broker import undecoded
from portico_contracts.messages import Message, WorkflowActivated
from portico_contracts.topology import (
    ACTIVATED_QUEUE,
    COMMAND_START_QUEUE,
    COMMANDS_EXCHANGE,
    DEACTIVATED_QUEUE,
    STATUS_EXCHANGE,
    WORKFLOW_ACTIVATED,
    WORKFLOW_DEACTIVATED,
)
from portico_gateway.errors import BrokerUnavailableError
from portico_gateway.status_bindings import StatusBindings

logger = logging.getLogger("portico.gateway.broker")

StatusSink = Callable[[str, bytes], None]


def make_broker(amqp_url: str, on_reconnected: Callable[[Any], Awaitable[None]]) -> RabbitBroker:
    return RabbitBroker(
        amqp_url,
        # FastStream logs every message at the broker's log level: DEBUG keeps the
        # per-event line off the hot path unless someone asks for it.
        log_level=logging.DEBUG,
        apply_types=False,  # see portico_contracts.broker: no worker-thread hop per event
        graceful_timeout=5.0,
        # Every second without RabbitMQ is a second of 503s on runs and queries: try again
        # soon (the library default waits 5 s between attempts).
        reconnect_interval=1.0,
        # Live events published while the connection was down are gone; the callback lets
        # open subscriptions catch up from the orchestrator.
        on_reconnected=[on_reconnected],
    )


def status_queue() -> RabbitQueue:
    name = f"gateway.status.{socket.gethostname()}.{uuid.uuid4().hex[:12]}"
    return RabbitQueue(name, durable=False, exclusive=True, auto_delete=True)


def attach_status_consumer(broker: RabbitBroker, sink: StatusSink) -> RabbitQueue:
    """Feed every status event and progress chunk (routing key, raw body) the status queue
    receives to `sink`; nothing to ack or persist. The queue starts unbound: `bind_status`
    hands it to the hub's bindings once the broker has started."""
    queue = status_queue()

    # ACK_FIRST consumes without acks: a missed live event is recovered from the
    # orchestrator (EventsSince) by the subscription that notices the gap.
    @broker.subscriber(queue, ack_policy=AckPolicy.ACK_FIRST, no_reply=True, decoder=undecoded)
    async def on_status_event(message: RabbitMessage) -> None:
        sink(message.raw_message.routing_key or "", message.body)

    return queue


async def bind_status(broker: RabbitBroker, queue: RabbitQueue, bindings: StatusBindings) -> None:
    """Let `bindings` bind the status queue to what this replica watches. Bound through the
    very queue object the subscriber declared, whose bindings the robust connection restores
    after a reconnect (with the queue itself: exclusive, it goes with the old connection)."""
    await broker.declare_exchange(STATUS_EXCHANGE)
    bindings.attach(await broker.declare_queue(queue))


async def declare_command_topology(broker: RabbitBroker) -> None:
    """Declare the start-command queue too, so a run queued while no orchestrator has ever
    started is kept rather than dropped as unroutable. Same declaration as the orchestrator's,
    taken from `portico_contracts.topology`."""
    exchange = await broker.declare_exchange(COMMANDS_EXCHANGE)
    # Activations too: one sent before any orchestrator ever ran waits for it.
    for declaration in (COMMAND_START_QUEUE, ACTIVATED_QUEUE, DEACTIVATED_QUEUE):
        queue = await broker.declare_queue(declaration)
        await queue.bind(exchange, routing_key=declaration.routing_key)


async def publish_activation(broker: RabbitBroker, message: Message) -> None:
    """Send WorkflowActivated / WorkflowDeactivated to the orchestrator: persistent, and
    confirmed by RabbitMQ before this returns (the broker's channel uses publisher confirms)."""
    activated = isinstance(message, WorkflowActivated)
    try:
        await broker.publish(
            message.model_dump_json().encode(),
            exchange=COMMANDS_EXCHANGE,
            routing_key=WORKFLOW_ACTIVATED if activated else WORKFLOW_DEACTIVATED,
            persist=True,
            message_id=message.message_id,
            content_type="application/json",
        )
    except Exception as exc:
        raise BrokerUnavailableError(
            f"saved, but the orchestrator could not be told ({exc!r}); send the request again"
        ) from exc


async def open_rpc_channel(broker: RabbitBroker) -> AbstractRobustChannel:
    """A channel of its own on the broker's connection for direct reply-to RPC; returned
    mandatory messages raise, so a request nobody can receive fails at once."""
    manager = broker.config.broker_config.channel_manager
    return await manager.get_channel(Channel(publisher_confirms=True, on_return_raises=True))
