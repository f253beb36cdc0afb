"""The node.ready queues (one per node type, on `portico_contracts.consumer`) and the result
publisher on the same channel."""

from __future__ import annotations

from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractExchange, FieldValue

from portico_contracts.consumer import PUBLISH_TIMEOUT_S, DirectConsumer
from portico_contracts.topology import NODE_RESULT, NODES_EXCHANGE, RESULTS_EXCHANGE, executor_queue


def node_ready_consumer(
    amqp_url: str, node_types: Sequence[str], prefetch: int, graceful_timeout_s: float
) -> DirectConsumer:
    queues = [(executor_queue(node_type), NODES_EXCHANGE) for node_type in node_types]
    return DirectConsumer(amqp_url, queues, prefetch, graceful_timeout_s)


class ResultPublisher:
    """Publishes node results on the consumer's channel (persistent, confirmed, mandatory:
    a result no queue takes raises instead of vanishing)."""

    def __init__(self) -> None:
        self._exchange: AbstractExchange | None = None

    async def connect(self, consumer: DirectConsumer) -> None:
        self._exchange = await consumer.exchange(RESULTS_EXCHANGE)

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
            timeout=PUBLISH_TIMEOUT_S,
        )
