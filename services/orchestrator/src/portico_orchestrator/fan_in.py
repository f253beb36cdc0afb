"""Group commit of one execution's node results.

Twenty parallel branches that finish together used to queue on their execution's row lock, a
transaction and a save each, one after the other. Now the first result of an execution starts a
drain that applies it alone; results of the same execution arriving meanwhile wait, and the
next round applies all of them in one save: a single statement when this replica made the
row's last save (`ExecutionService.apply_results_unlocked`), else one transaction under the
row lock (`ExecutionService.apply_results`).

Nothing is acked sooner: each handler returns only once the save holding its result
committed and its effects were published. The next round does not wait for that publishing,
only for the commit: it starts from the row as this replica just saved it. Should a batch fail
before it commits, its results are applied one by one, so one bad result (a dead-letter case)
cannot take the others down with it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from portico_contracts.sql import is_transient
from portico_orchestrator import db
from portico_orchestrator.service import ArrivedResult
from portico_orchestrator.step import Effects
from portico_orchestrator.unit_of_work import Deps

logger = logging.getLogger("portico.orchestrator.fan_in")

# Bounds one transaction; the channel's prefetch bounds it too.
MAX_BATCH = 100


@dataclass(slots=True)
class _Waiting:
    arrived: ArrivedResult
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, error: BaseException | None = None) -> None:
        if self.done.done():  # its handler was cancelled (the broker connection went away)
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)


class FanIn:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._waiting: dict[str, list[_Waiting]] = {}  # by execution id, while it drains
        self._drains: set[asyncio.Task[None]] = set()
        self._publishing: set[asyncio.Task[None]] = set()

    async def apply(self, arrived: ArrivedResult) -> None:
        """Apply `arrived` (with whatever else of its execution is waiting), commit, publish;
        raises what applying it alone raised."""
        waiting = _Waiting(arrived)
        execution_id = arrived.result.execution_id
        queue = self._waiting.get(execution_id)
        if queue is None:
            self._waiting[execution_id] = [waiting]
            # A task of its own: the drain outlives a cancelled handler, so nothing waits on a
            # leader that is gone.
            drain = asyncio.create_task(self._drain(execution_id), name=f"fan-in-{execution_id}")
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        else:
            queue.append(waiting)
        await waiting.done

    async def _drain(self, execution_id: str) -> None:
        batch: list[_Waiting] = []
        try:
            while queue := self._waiting[execution_id]:
                batch, self._waiting[execution_id] = queue[:MAX_BATCH], queue[MAX_BATCH:]
                await self._apply(batch)
                batch = []  # settled, or settled once published
        finally:
            # Cancelled (the loop is closing): whatever is not settled goes back to its queue.
            for waiting in batch + self._waiting.pop(execution_id, []):
                waiting.done.cancel()

    async def _apply(self, batch: list[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                await self._apply_together(batch)
                return
            except Exception as exc:
                logger.info("%d results applied one by one after %r", len(batch), exc)
        for waiting in batch:
            try:
                await self._apply_together([waiting])
            except Exception as exc:
                waiting.settle(exc)

    async def _apply_unlocked(self, arrived: list[ArrivedResult]) -> Effects | None:
        """One statement, no BEGIN, lock or COMMIT, when this replica made the row's last save
        and nobody saved it since; None: take the locked path (which retries a database that
        is briefly away, so a failure here only sends the results there)."""
        try:
            async with db.connection(self._deps.pool) as conn:
                return await self._deps.service.apply_results_unlocked(conn, arrived)
        except Exception as exc:
            if not is_transient(exc):
                raise
            return None

    async def _apply_together(self, batch: list[_Waiting]) -> None:
        deps = self._deps
        arrived = [waiting.arrived for waiting in batch]
        effects = await self._apply_unlocked(arrived)
        if effects is None:
            effects = await deps.transaction(lambda conn: deps.service.apply_results(conn, arrived))
        deps.service.committed(effects)  # the next round starts from the row saved here
        publishing = asyncio.create_task(deps.carry_out(effects))
        self._publishing.add(publishing)
        publishing.add_done_callback(lambda task: self._published(batch, task))

    def _published(self, batch: list[_Waiting], task: asyncio.Task[None]) -> None:
        self._publishing.discard(task)
        if task.cancelled():  # the loop is closing: the messages go back unacked
            for waiting in batch:
                waiting.done.cancel()
            return
        error = task.exception()
        for waiting in batch:
            waiting.settle(error)
