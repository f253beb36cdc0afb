"""The boundary of every unit of work: one transaction, committed here, then its effects.

`Deps` runs a piece of the state machine in a transaction (retrying it in-process while the
database is briefly unreachable, so the message that caused it is not given back), then
carries out what it committed: publish the outbox rows (shielded from cancellation), wake the
timer loop, let queued executions in. Handlers, the watchdog and the outbox relay's dead
letters all go through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from faststream.rabbit import RabbitBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from portico_contracts.sql import is_transient
from portico_orchestrator import admission, db, dead_letters
from portico_orchestrator.dead_letters import DeadLetter
from portico_orchestrator.metrics import Metrics
from portico_orchestrator.outbox import Outbox
from portico_orchestrator.service import ExecutionService
from portico_orchestrator.step import Effects, OutboxMessage
from portico_orchestrator.timers import TimerLoop

logger = logging.getLogger("portico.orchestrator")
T = TypeVar("T")


# Deadlocks, serialization failures, a full or restarting server: the message is fine.
@dataclass
class Deps:
    broker: RabbitBroker
    engine: AsyncEngine  # the read side (views)
    service: ExecutionService
    outbox: Outbox
    timers: TimerLoop
    metrics: Metrics = field(default_factory=Metrics)
    pool: db.Pool | None = None  # the hot path; opened before the broker starts consuming
    _admitting: set[asyncio.Task[None]] = field(default_factory=set)

    # How long a transaction is retried in-process while the database is unreachable before
    # the message goes back to its queue (which counts toward the queue's delivery limit).
    transient_retry_s: float = 120.0

    async def transaction(self, work: Callable[[db.Connection], Awaitable[T]]) -> T:
        """Run `work` in one transaction, committed here at the boundary. Infrastructure
        failures (a database restart, a deadlock) are retried with backoff, holding on to
        the message rather than giving it back."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.transient_retry_s
        delay = 0.02
        while True:
            try:
                async with db.transaction(self.pool) as conn:
                    return await work(conn)
            except Exception as exc:
                if not is_transient(exc) or loop.time() + delay > give_up_at:
                    raise
                logger.warning("transaction failed (%r); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def after_commit(self, effects: Effects) -> None:
        self.service.committed(effects)
        await self.carry_out(effects)

    async def carry_out(self, effects: Effects) -> None:
        """What follows a commit the service already learned of (`service.committed`)."""
        # Shielded: what committed must be published (or handed to the relay) even when this
        # handler is cancelled (a broker connection lost mid-publish cancels its consumers);
        # else the rows would stay owned by a live replica that never sends them.
        await asyncio.shield(self.outbox.publish(effects.messages))
        self.timers.notify(effects.timer_due)
        if (
            effects.finished
            and effects.tenant_id is not None
            and effects.tenant_queued is not False
        ):
            # A place came free: let the tenant's queued executions in, off this message's path.
            task = asyncio.create_task(
                self.admit_waiting(effects.tenant_id, known_queued=bool(effects.tenant_queued))
            )
            self._admitting.add(task)
            task.add_done_callback(self._admitting.discard)

    async def admit_waiting(self, tenant_id: str, *, known_queued: bool = False) -> None:
        try:
            if not known_queued:
                async with db.connection(self.pool) as conn:
                    if not await admission.has_queued(conn, tenant_id):
                        return
            await self.apply(lambda conn: self.service.admit_queued(conn, tenant_id))
        except Exception:
            # The watchdog's sweep admits them later.
            logger.exception("could not admit queued executions of tenant %s", tenant_id)

    async def apply(self, work: Callable[[db.Connection], Awaitable[Effects]]) -> Effects:
        """`work` in one transaction, then its effects."""
        effects = await self.transaction(work)
        await self.after_commit(effects)
        return effects

    async def dead_lettered(self, letter: DeadLetter) -> None:
        self.metrics.dead_letter(letter.kind)
        await self.apply(lambda conn: self.service.dead_lettered(conn, letter))

    async def parked(self, parked: list[tuple[OutboxMessage, str]]) -> None:
        """Outbox rows the relay gave up on: each becomes a dead letter (see dead_letters.py)."""
        self.metrics.parked.inc(len(parked))
        for message, reason in parked:
            await self.dead_lettered(
                dead_letters.from_outbox(
                    message.body, message.exchange, message.routing_key, message.message_id, reason
                )
            )
