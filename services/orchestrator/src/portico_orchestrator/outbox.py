"""Transactional outbox: publish after commit, relay what a dead replica left, park the hopeless.

Messages are written to `orchestrator.outbox` in the transaction that caused them, stamped with
the writing replica's `owner` key. Right after commit that replica publishes them (publisher
confirms, all in flight at once) and queues their ids for deletion in batches. Each row is
published by exactly one path: the owner, or — once the owner is gone — the relay. A replica
holds a session advisory lock on its owner key for as long as it lives (`OwnerLock`), so the
relay of any replica can tell a dead owner from a busy one without trusting any clock: it takes
a row only when the row has no owner (its publish failed) or its owner's lock is free.

A row that fails to publish loses its owner and backs off exponentially, so one bad row never
starves the rows behind it; a row that can never be published (over the broker's size limit,
or still failing after `outbox_max_attempts`) is parked: removed, recorded as a dead letter,
and the node it would have dispatched fails with the reason (see `Parker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection, FieldValue
from aiormq.abc import DeliveredMessage

from portico_contracts.consumer import PUBLISH_TIMEOUT_S
from portico_contracts.nodes import NODE_TYPES
from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    NODES_EXCHANGE,
    ORCHESTRATOR_DEAD_LETTERS_QUEUE,
    RELAYED_HEADER,
    STATUS_EXCHANGE,
    executor_queue,
)
from portico_orchestrator import db
from portico_orchestrator.config import Settings
from portico_orchestrator.metrics import Metrics
from portico_orchestrator.owner import OWNER_LOCK_NAMESPACE, OwnerLock
from portico_orchestrator.step import OutboxMessage

logger = logging.getLogger("portico.orchestrator.outbox")

_CLAIM = db.Query(
    f"""
    SELECT id, exchange, routing_key, message_id, body, headers, attempts
    FROM orchestrator.outbox
    WHERE next_attempt_at <= now()
      AND (owner IS NULL
           OR (owner <> :me AND pg_try_advisory_xact_lock({OWNER_LOCK_NAMESPACE}, owner)))
    ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
)
_DELETE = db.Query("DELETE FROM orchestrator.outbox WHERE id = ANY(CAST(:ids AS bigint[]))")
# A failed row loses its owner (any relay may take it) and waits 0.5 s, 1 s, 2 s … up to 60 s.
_BACK_OFF = db.Query(
    """
    UPDATE orchestrator.outbox SET
        owner = NULL,
        attempts = attempts + 1,
        next_attempt_at = now() + make_interval(secs => least(60, 0.5 * power(2, attempts))),
        last_error = :error
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)

Row = tuple[int, OutboxMessage]
# Told, after the relay's transaction deleted them, of rows that will never be published.
# Should it not be told (a crash in between), the watchdog still fails what they dispatched.
OnParked = Callable[[list[tuple[OutboxMessage, str]]], Awaitable[None]]


def _message(row: db.Record) -> OutboxMessage:
    return OutboxMessage(
        row["exchange"], row["routing_key"], row["message_id"], row["body"], row["headers"]
    )


class Outbox:
    def __init__(self, settings: Settings) -> None:
        self._pool: db.Pool | None = None  # set when started
        self._settings = settings
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._published: list[int] = []
        self._unhanded: dict[int, str] = {}  # failed to publish, not yet handed to the relay
        self._tasks: list[asyncio.Task[None]] = []
        self.owner_lock = OwnerLock(settings.database_url)
        self.on_parked: OnParked | None = None  # set by the app: records and fails them
        self.metrics: Metrics | None = None

    @property
    def owner(self) -> int:
        return self.owner_lock.key

    async def connect(self, pool: db.Pool) -> None:
        self._pool = pool
        await self.owner_lock.acquire()
        # A connection of its own: RabbitMQ throttles publishing connections under memory
        # pressure, and that must not stall the consumers on the broker's connection.
        self._connection = await aio_pika.connect_robust(self._settings.amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        for exchange in (NODES_EXCHANGE, STATUS_EXCHANGE, DEAD_LETTER_EXCHANGE):
            self._exchanges[exchange.name] = await self._channel.declare_exchange(
                exchange.name, aio_pika.ExchangeType(exchange.type.value), durable=True
            )
        # Dead letters wait in `portico.dead` for a person, and in our own queue to be acted on.
        for spec in (DEAD_LETTER_QUEUE, ORCHESTRATOR_DEAD_LETTERS_QUEUE):
            dead = await self._channel.declare_queue(
                spec.name, durable=True, arguments=dict(spec.arguments or {})
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
            asyncio.create_task(self.owner_lock.keep(), name="outbox-owner-lock"),
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
        # Last: whatever we still own becomes the relay's once this lock is gone.
        await self.owner_lock.release()

    async def publish(self, messages: Sequence[Row]) -> None:
        """Publish committed rows we own now; what fails is handed to the relay.

        node.ready goes first: the next node waits for it, the editor can wait for its
        status events a moment longer (their own order is kept; the channel publishes in turn).
        """
        if not messages:
            return
        ordered = sorted(messages, key=lambda item: item[1].exchange != NODES_EXCHANGE.name)
        sent, failed = await self._publish_all(ordered, relayed=False)
        self._published.extend(sent)
        if failed:
            if self.metrics is not None:
                self.metrics.publish_failures.inc(len(failed))
            await self._hand_to_relay(failed)

    async def _hand_to_relay(self, failed: dict[int, str]) -> None:
        try:
            async with db.transaction(self._pool) as conn:
                await self._back_off(conn, failed)
        except Exception:
            # Still ours: the cleanup loop tries again (or, should we die, any relay takes
            # them once our lock is gone).
            logger.exception("could not hand %d unpublished outbox rows to the relay", len(failed))
            self._unhanded.update(failed)

    async def _back_off(self, conn: db.Connection, failed: dict[int, str]) -> None:
        # Grouped by reason so the statement count stays small.
        by_reason: dict[str, list[int]] = {}
        for row_id, reason in failed.items():
            by_reason.setdefault(reason, []).append(row_id)
        for reason, ids in by_reason.items():
            await _BACK_OFF.execute(conn, ids=ids, error=reason[:1000])

    async def _publish_all(
        self, messages: Sequence[Row], *, relayed: bool
    ) -> tuple[list[int], dict[int, str]]:
        results = await asyncio.gather(
            *(self._publish_one(message, relayed) for _, message in messages),
            return_exceptions=True,
        )
        sent: list[int] = []
        failed: dict[int, str] = {}
        for (row_id, message), outcome in zip(messages, results, strict=True):
            if outcome is True:
                sent.append(row_id)
            elif outcome is False:
                failed[row_id] = f"unroutable: no queue is bound for {message.routing_key}"
            else:
                failed[row_id] = f"{type(outcome).__name__}: {outcome}"
        if failed:
            logger.warning(
                "%d of %d messages not published, the relay will retry: %s",
                len(failed),
                len(messages),
                next(iter(failed.values())),
            )
        return sent, failed

    def _oversized(self, body: bytes) -> str | None:
        """Why the broker would refuse this message (closing our channel with it), if so."""
        size, limit = len(body), self._settings.max_message_bytes
        if size <= limit:
            return None
        return f"message of {size} bytes is over the limit of {limit} (PORTICO_MAX_MESSAGE_BYTES)"

    async def _publish_one(self, message: OutboxMessage, relayed: bool) -> bool:
        body = message.body.encode()  # once: the size check and the publish share it
        if (reason := self._oversized(body)) is not None:
            raise ValueError(reason)
        exchange = self._exchanges[message.exchange]
        # A node.ready nobody can receive (no executor queue for its type yet) must not be
        # lost: it comes back as a return, and the row stays for the relay to try again.
        is_node_ready = message.exchange == NODES_EXCHANGE.name
        headers: dict[str, FieldValue] = dict(message.headers or {})
        if relayed and is_node_ready:
            headers[RELAYED_HEADER] = True
        confirmation = await exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                # Without one, the consumer's FastStream makes up a uuid4 for every delivery.
                correlation_id=message.message_id,
                headers=headers or None,
            ),
            routing_key=message.routing_key,
            mandatory=is_node_ready,
            timeout=PUBLISH_TIMEOUT_S,
        )
        return not isinstance(confirmation, DeliveredMessage)

    async def flush_deletes(self) -> None:
        if not self._published:
            return
        ids, self._published = self._published, []
        try:
            # One statement, its own transaction: no BEGIN and COMMIT round trips around it.
            async with db.connection(self._pool) as conn:
                await _DELETE.execute(conn, ids=ids)
        except Exception:
            logger.exception("could not delete %d published outbox rows", len(ids))
            self._published.extend(ids)

    async def relay_once(self) -> int:
        """Publish rows whose owner is gone or whose publish failed; returns how many were
        taken (published, backed off or parked)."""
        hopeless: list[tuple[Row, str]] = []
        async with db.transaction(self._pool) as conn:
            rows = await _CLAIM.fetch(conn, me=self.owner, limit=self._settings.outbox_relay_batch)
            if not rows:
                return 0
            messages: list[Row] = []
            for row in rows:
                item = (row["id"], _message(row))
                reason = self._oversized(item[1].body.encode())
                if reason is None and row["attempts"] >= self._settings.outbox_max_attempts:
                    reason = f"not published after {row['attempts']} attempts: {row['last_error']}"
                if reason is None:
                    messages.append(item)
                else:
                    hopeless.append((item, reason))
            if hopeless:
                await _DELETE.execute(conn, ids=[row_id for (row_id, _), _ in hopeless])
            sent, failed = await self._publish_all(messages, relayed=True)
            if sent:
                await _DELETE.execute(conn, ids=sent)
            if failed:
                await self._back_off(conn, failed)
        if hopeless:
            await self._parked([(message, reason) for (_, message), reason in hopeless])
        return len(rows)

    async def _parked(self, parked: list[tuple[OutboxMessage, str]]) -> None:
        for message, reason in parked:
            logger.error("parked outbox message %s: %s", message.message_id, reason)
        if self.on_parked is not None:
            await self.on_parked(parked)

    async def _cleanup_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.outbox_cleanup_interval_s)
            await self.flush_deletes()
            if self._unhanded:
                failed, self._unhanded = self._unhanded, {}
                await self._hand_to_relay(failed)

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
