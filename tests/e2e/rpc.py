"""Speaking to a service's RPC queue directly, as a process inside the cluster could: how the
tests play an executor that forges or replays a grant."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika


async def rpc_call(amqp_url: str, queue: str, request: dict[str, Any]) -> dict[str, Any]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        replies = await channel.declare_queue(exclusive=True, auto_delete=True)
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            if not answer.done():
                answer.set_result(message.body)

        await replies.consume(on_reply, no_ack=True)
        await channel.default_exchange.publish(
            aio_pika.Message(
                json.dumps(request).encode(),
                content_type="application/json",
                correlation_id=uuid.uuid4().hex,
                reply_to=replies.name,
            ),
            routing_key=queue,
        )
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(answer, 30))
        return reply
    finally:
        await connection.close()
