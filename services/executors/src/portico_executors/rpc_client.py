"""Questions to another service's RPC queue (`orchestrator.rpc`, `credentials.rpc`), answered
into a private exclusive queue of ours and matched by correlation id.

Each client has a connection of its own. Any number of questions may be in flight, a late
answer finds nobody waiting and is dropped, and nothing here can close the channel the results
are published on (FastStream's direct reply-to request, cancelled by a timeout, left its reply
consumer behind, and the next request closed that shared channel).

Bodies are never logged or put in an exception: a `credentials.rpc` answer holds plaintext.
"""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

# Opening the connection is bounded apart from the wait for an answer, however short that is.
CONNECT_TIMEOUT_S = 10.0


class NoAnswerError(Exception):
    """The service gave no usable answer to one question (no reply in time, nobody serving
    the queue, the broker unreachable, or an unreadable reply)."""


class NoReplyError(NoAnswerError, TimeoutError):
    """No reply within the time given."""


class RpcClient:
    def __init__(self, amqp_url: str, queue: str) -> None:
        self.queue = queue
        self._url = amqp_url
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._reply_queue = f"executor.rpc-replies.{uuid.uuid4().hex}"
        self._waiting: dict[str, asyncio.Future[bytes]] = {}
        self._opening = asyncio.Lock()

    async def _open(self) -> AbstractChannel:
        async with self._opening:
            if self._channel is None:
                self._connection = await aio_pika.connect_robust(self._url)
                # A question nobody can receive (no such queue: the service never started)
                # comes back at once instead of being dropped in silence.
                channel = await self._connection.channel(on_return_raises=True)
                queue = await channel.declare_queue(
                    self._reply_queue, exclusive=True, auto_delete=True
                )
                await queue.consume(self._on_reply, no_ack=True)
                self._channel = channel
            return self._channel

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        waiting = self._waiting.get(message.correlation_id or "")
        if waiting is not None and not waiting.done():
            waiting.set_result(message.body)

    async def ask(self, body: bytes, timeout_s: float) -> bytes:
        """The reply body; NoAnswerError when none comes within `timeout_s`."""
        correlation_id = uuid.uuid4().hex
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = answer
        try:
            async with asyncio.timeout(max(timeout_s, CONNECT_TIMEOUT_S)):
                channel = await self._open()
            async with asyncio.timeout(timeout_s):
                question = aio_pika.Message(
                    body,
                    content_type="application/json",
                    correlation_id=correlation_id,
                    reply_to=self._reply_queue,
                    expiration=timeout_s,  # nobody waits for it after that: let it die unread
                )
                await channel.default_exchange.publish(question, routing_key=self.queue)
                return await answer
        except TimeoutError:
            raise NoReplyError(f"no reply from {self.queue} within {timeout_s:g} s") from None
        except aio_pika.exceptions.DeliveryError:  # unroutable; its text would quote the body
            raise NoAnswerError(f"nobody serves {self.queue}") from None
        except (aio_pika.exceptions.AMQPError, OSError) as exc:
            raise NoAnswerError(f"broker unreachable: {type(exc).__name__}") from None
        finally:
            self._waiting.pop(correlation_id, None)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = self._channel = None
