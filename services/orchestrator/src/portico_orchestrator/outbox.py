"""Transactional outbox: publish after commit, relay what a crash left behind, clean up in bulk.

Messages are written to `orchestrator.outbox` in the transaction that caused them. Right after
commit the same process publishes them (publisher confirms, all in flight at once) and queues
their ids for deletion, which a background task does in batches off the hot path. A relay task
republishes rows older than a grace period, on start-up and periodically, taking them with
`FOR UPDATE SKIP LOCKED` so any number of replicas can relay side by side. Delivery is at least
once; every consumer is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aiormq.abc import DeliveredMessage

from portico_contracts.messages import utcnow
from portico_contracts.nodes import NODE_TYPES
from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    NODES_EXCHANGE,
    STATUS_EXCHANGE,
    executor_queue,
)
from portico_orchestrator import db
from portico_orchestrator.config import Settings
from portico_orchestrator.step import OutboxMessage

logger = logging.getLogger("portico.orchestrator.outbox")

_CLAIM_STALE = db.Query(
    """
    SELECT id, exchange, routing_key, message_id, body, headers FROM orchestrator.outbox
    WHERE created_at < :cutoff ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
)
_DELETE = db.Query("DELETE FROM orchestrator.outbox WHERE id = ANY(CAST(:ids AS bigint[]))")
_PUBLISH_TIMEOUT_S = 10.0


def _message(row: db.Record) -> OutboxMessage:
    return OutboxMessage(
        row["exchange"], row["routing_key"], row["message_id"], row["body"], row["headers"]
    )


class Outbox:
    def __init__(self, settings: Settings) -> None:
        self._pool: db.Pool = None  # set when started
        self._settings = settings
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._published: list[int] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self, pool: db.Pool) -> None:
        self._pool = pool
        # A connection of its own: RabbitMQ throttles publishing connections under memory
        # pressure, and that must not stall the consumers on the broker's connection.
        self._connection = await aio_pika.connect_robust(self._settings.amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        for exchange in (NODES_EXCHANGE, STATUS_EXCHANGE, DEAD_LETTER_EXCHANGE):
            self._exchanges[exchange.name] = await self._channel.declare_exchange(
                exchange.name, aio_pika.ExchangeType(exchange.type.value), durable=True
            )
        # Dead-lettered messages need somewhere to wait for a person to look at them.
        dead = await self._channel.declare_queue(
            DEAD_LETTER_QUEUE.name, durable=True, arguments=dict(DEAD_LETTER_QUEUE.arguments or {})
        )
        await dead.bind(self._exchanges[DEAD_LETTER_EXCHANGE.name], routing_key="")
        if self._settings.declare_executor_queues:
            await self._declare_executor_queues()

    async def _declare_executor_queues(self) -> None:
        """Declare each known node type's queue, as topology.py defines it, so a node.ready
        waits there even while no executor runs (say, the orchestrator started first)."""
        assert self._channel is not None
        for node_type in NODE_TYPES.values():
            if node_type.is_trigger:
                continue
            spec = executor_queue(node_type.name)
            queue = await self._channel.declare_queue(
                spec.name, durable=True, arguments=dict(spec.arguments or {})
            )
            await queue.bind(self._exchanges[NODES_EXCHANGE.name], routing_key=spec.routing())

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._cleanup_loop(), name="outbox-cleanup"),
            asyncio.create_task(self._relay_loop(), name="outbox-relay"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.flush_deletes()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def publish(self, messages: Sequence[tuple[int, OutboxMessage]]) -> None:
        """Publish committed rows now; whatever fails stays in the table for the relay.

        node.ready goes first: the next node waits for it, the editor can wait for its
        status events a moment longer (their own order is kept; the channel publishes in turn).
        """
        if not messages:
            return
        ordered = sorted(messages, key=lambda item: item[1].exchange != NODES_EXCHANGE.name)
        sent = await self._publish_all(ordered)
        self._published.extend(sent)

    async def _publish_all(self, messages: Sequence[tuple[int, OutboxMessage]]) -> list[int]:
        results = await asyncio.gather(
            *(self._publish_one(message) for _, message in messages), return_exceptions=True
        )
        sent = [row_id for (row_id, _), ok in zip(messages, results, strict=True) if ok is True]
        if len(sent) < len(messages):
            failures = [r for r in results if isinstance(r, BaseException)]
            returned = [
                m.routing_key for (_, m), ok in zip(messages, results, strict=True) if ok is False
            ]
            logger.warning(
                "%d of %d messages not published yet, the relay will retry (unroutable: %s; "
                "errors: %r)",
                len(messages) - len(sent),
                len(messages),
                sorted(set(returned)),
                failures[:1],
            )
        return sent

    async def _publish_one(self, message: OutboxMessage) -> bool:
        exchange = self._exchanges[message.exchange]
        # A node.ready nobody can receive (no executor queue for its type yet) must not be
        # lost: it comes back as a return, and the row stays for the relay to try again.
        mandatory = message.exchange == NODES_EXCHANGE.name
        confirmation = await exchange.publish(
            aio_pika.Message(
                message.body.encode(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                headers=dict(message.headers) if message.headers else None,
            ),
            routing_key=message.routing_key,
            mandatory=mandatory,
            timeout=_PUBLISH_TIMEOUT_S,
        )
        return not isinstance(confirmation, DeliveredMessage)

    async def flush_deletes(self) -> None:
        if not self._published:
            return
        ids, self._published = self._published, []
        try:
            async with db.transaction(self._pool) as conn:
                await _DELETE.execute(conn, ids=ids)
        except Exception:
            logger.exception("could not delete %d published outbox rows", len(ids))
            self._published.extend(ids)

    async def relay_once(self, grace_s: float | None = None) -> int:
        """Republish rows older than the grace period; returns how many were published."""
        grace = self._settings.outbox_relay_grace_s if grace_s is None else grace_s
        cutoff = utcnow() - timedelta(seconds=grace)
        async with db.transaction(self._pool) as conn:
            rows = await _CLAIM_STALE.fetch(
                conn, cutoff=cutoff, limit=self._settings.outbox_relay_batch
            )
            if not rows:
                return 0
            messages = [(r["id"], _message(r)) for r in rows]
            sent = await self._publish_all(messages)
            if sent:
                await _DELETE.execute(conn, ids=sent)
        return len(sent)

    async def _cleanup_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.outbox_cleanup_interval_s)
            await self.flush_deletes()

    async def _relay_loop(self) -> None:
        while True:
            try:
                # Keep relaying while full batches come back: a crash may have left many rows.
                while await self.relay_once() >= self._settings.outbox_relay_batch:
                    pass
            except Exception:
                logger.exception(
                    "outbox relay failed; retrying in %ss", self._settings.outbox_relay_interval_s
                )
            await asyncio.sleep(self._settings.outbox_relay_interval_s)
