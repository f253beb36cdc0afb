"""The watchdog: no node stays dispatched forever, no queued execution waits for nothing.

Every `watchdog_interval_s` each replica scans the running executions for nodes whose latest
node.ready went out longer ago than any deadline could be, and hands each candidate to
`ExecutionService.enforce_deadline`, which re-checks it under the execution's row lock
against that node's own deadline: the first time it is overdue the same attempt is dispatched
again (a delivery lost or held by a hung executor), the next time the attempt fails as a
retryable Timeout and the node's retry policy takes over. Replicas may scan side by side;
the row lock and the re-check make the verdict once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from portico_contracts.messages import utcnow
from portico_orchestrator import admission, db
from portico_orchestrator.background import BackgroundLoop
from portico_orchestrator.config import Settings
from portico_orchestrator.metrics import Metrics
from portico_orchestrator.service import ExecutionService
from portico_orchestrator.step import Effects

logger = logging.getLogger("portico.orchestrator.watchdog")

# Nodes dispatched (or re-sent) before :cutoff and still running, not suspended.
_CANDIDATES = db.Query(
    """
    SELECT e.id AS execution_id, n.key AS node_id, (n.value->>'a')::int AS attempt
    FROM orchestrator.executions AS e CROSS JOIN LATERAL jsonb_each(e.node_state) AS n
    WHERE e.status = 'running'
      AND n.value->>'s' = 'running'
      AND NOT n.value ? 'w'
      AND COALESCE(n.value->>'t', n.value->>'d')::timestamptz < :cutoff
    LIMIT :limit
    """
)

# Runs `work` in one transaction and carries out its effects after commit.
Apply = Callable[[Callable[[db.Connection], Awaitable[Effects]]], Awaitable[Effects]]


class Watchdog(BackgroundLoop):
    name = "watchdog"

    def __init__(
        self,
        service: ExecutionService,
        apply: Apply,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__()
        self._metrics = metrics
        self._service = service
        self._apply = apply
        self._settings = settings
        self._clock = clock

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.watchdog_interval_s)
            try:
                await self.sweep()
            except Exception:
                logger.exception("watchdog sweep failed; trying again next interval")

    async def sweep(self, limit: int = 1000) -> int:
        """Judge every candidate once; returns how many were looked at."""
        limits = self._service.limits
        shortest = min(limits.deadline_grace_s, limits.node_deadline_s, limits.wait_deadline_s)
        cutoff = self._clock() - timedelta(seconds=shortest)
        async with db.connection(self._pool) as conn:
            candidates = await _CANDIDATES.fetch(conn, cutoff=cutoff, limit=limit)
            waiting = await admission.tenants_waiting(conn)
        for row in candidates:
            judged = await self._apply(
                self._judge(row["execution_id"], row["node_id"], row["attempt"])
            )
            if judged.messages and self._metrics is not None:
                self._metrics.watchdog.inc()
        for tenant_id in waiting:  # in case the moment a place came free was missed
            await self._apply(self._admit(tenant_id))
        return len(candidates)

    def _admit(self, tenant_id: str) -> Callable[[db.Connection], Awaitable[Effects]]:
        def work(conn: db.Connection) -> Awaitable[Effects]:
            return self._service.admit_queued(conn, tenant_id)

        return work

    def _judge(
        self, execution_id: str, node_id: str, attempt: int
    ) -> Callable[[db.Connection], Awaitable[Effects]]:
        def work(conn: db.Connection) -> Awaitable[Effects]:
            return self._service.enforce_deadline(conn, execution_id, node_id, attempt)

        return work
