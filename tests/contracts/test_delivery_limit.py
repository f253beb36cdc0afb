"""DeadLetterMiddleware's bound on poison messages, against the real broker."""

from __future__ import annotations

from typing import Any

from faststream.exceptions import NackMessage
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitQueue

from portico_contracts.broker import undecoded
from portico_contracts.dead_letter import DeadLetterMiddleware
from portico_contracts.topology import DELIVERIES_HEADER


async def test_a_caller_waiting_on_a_redelivered_request_gets_the_real_answer(
    infra: Any,
) -> None:
    """The first consumer dies holding the request; the caller must get the answer of the
    counted copy, not an empty reply sent for the delivery that was set aside."""
    queue = RabbitQueue("contracts.delivery-limit.rpc", durable=True, auto_delete=True)
    seen: list[int] = []
    server = RabbitBroker(infra.amqp_url, middlewares=[DeadLetterMiddleware], logger=None)

    @server.subscriber(queue, decoder=undecoded)
    async def answer(message: RabbitMessage) -> str:
        seen.append(int(message.headers.get(DELIVERIES_HEADER, 0)))
        if len(seen) == 1:
            # Given back unanswered and unsettled: what a crash looks like to RabbitMQ.
            raise NackMessage(requeue=True)
        return "the real answer"

    client = RabbitBroker(infra.amqp_url, logger=None)
    await server.start()
    await client.connect()
    try:
        reply = await client.request(b"question", queue=queue.name, timeout=10)
        assert reply.body == b"the real answer"
        assert seen == [0, 1]
    finally:
        await client.stop()
        await server.stop()
