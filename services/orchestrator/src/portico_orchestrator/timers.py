"""Durable timers: retry delays and long waits, fired on time by any replica.

Timers are rows with an absolute `due_at`, so a restart neither loses nor shortens a wait. The
loop sleeps until the earliest due time (woken early when this process writes a new timer),
then claims due rows one transaction each with `FOR UPDATE SKIP LOCKED`, so several replicas
share the work and each timer fires once. Timers written by other replicas are found by the
periodic look at the earliest due time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from portico_contracts.messages import utcnow
from portico_orchestrator import db
from portico_orchestrator.background import BackgroundLoop
from portico_orchestrator.config import Settings
from portico_orchestrator.outbox import Outbox
from portico_orchestrator.service import ExecutionService

logger = logging.getLogger("portico.orchestrator.timers")

_CLAIM_ONE = db.Query(
    """
    DELETE FROM orchestrator.timers WHERE id = (
        SELECT id FROM orchestrator.timers WHERE due_at <= :now
        ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    RETURNING execution_id, node_id, attempt, dispatched_at
    """
)
_NEXT_DUE = db.Query("SELECT min(due_at) FROM orchestrator.timers")


class TimerLoop(BackgroundLoop):
    name = "timers"

    def __init__(
        self,
        service: ExecutionService,
        outbox: Outbox,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__()
        self._service = service
        self._outbox = outbox
        self._settings = settings
        self._clock = clock
        self._wake = asyncio.Event()

    def notify(self, due: list[datetime]) -> None:
        """A timer was written by this process: look again at when to wake."""
        if due:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            # Cleared before looking, so a timer written meanwhile wakes the wait below.
            self._wake.clear()
            try:
                fired = await self.fire_due()
                timeout = await self._sleep_time()
                if not fired:
                    # Due yet not claimable: another replica is firing it right now.
                    timeout = max(timeout, 0.01)
            except Exception:
                logger.exception("timer loop failed; retrying")
                timeout = self._settings.timer_poll_interval_s
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)

    async def _sleep_time(self) -> float:
        async with db.connection(self._pool) as conn:
            next_due: datetime | None = await _NEXT_DUE.fetchval(conn)
        poll = self._settings.timer_poll_interval_s
        if next_due is None:
            return poll
        return max(0.0, min(poll, (next_due - self._clock()).total_seconds()))

    async def fire_due(self) -> int:
        """Fire every timer due now, with a few workers once there is more than one."""
        if not await self._fire_one():
            return 0
        counts = await asyncio.gather(
            *(self._worker() for _ in range(self._settings.timer_workers))
        )
        return 1 + sum(counts)

    async def _worker(self) -> int:
        fired = 0
        while await self._fire_one():
            fired += 1
        return fired

    async def _fire_one(self) -> bool:
        async with db.transaction(self._pool) as conn:
            claimed = await _CLAIM_ONE.fetchrow(conn, now=self._clock())
            if claimed is None:
                return False
            effects = await self._service.fire_timer(
                conn,
                claimed["execution_id"],
                claimed["node_id"],
                claimed["attempt"],
                claimed["dispatched_at"],
            )
        self._service.committed(effects)
        await self._outbox.publish(effects.messages)
        return True
