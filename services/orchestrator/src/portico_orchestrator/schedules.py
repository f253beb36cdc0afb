"""Cron triggers: fire every due slot once, whichever replica gets there first.

Each cron trigger row holds its next slot (`next_fire_at`). The loop claims one due row at a
time with `FOR UPDATE SKIP LOCKED`, moves it to its following slot and starts the slot's
execution in the same transaction, under an id derived from (workflow, node, slot): a slot
can start only once, even if two replicas somehow both reach it.

A slot found more than one period late (the orchestrator was down; the following slot is
due too, `cron_misfire_grace_s` past) is a misfire: `skip` moves to the next future slot
without running, `run_once` runs the latest missed slot once, then moves to the future.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portico_contracts.dead_letter import PermanentMessageError
from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import StartExecution, utcnow
from portico_contracts.queries import ListSchedules, SchedulesPage, ScheduleView
from portico_contracts.schedule import next_fire
from portico_contracts.triggers import CronTriggerConfig
from portico_orchestrator import db
from portico_orchestrator.background import BackgroundLoop
from portico_orchestrator.config import Settings
from portico_orchestrator.step import Effects
from portico_orchestrator.unit_of_work import Deps

logger = logging.getLogger("portico.orchestrator.schedules")

# Execution ids of cron slots: uuid5 in a namespace of our own.
CRON_NAMESPACE = uuid.UUID("6f1d5f0e-3c1a-5b8e-9a57-0c7e2b1d4a10")

_CLAIM_DUE = db.Query(
    """
    SELECT t.workflow_id, t.node_id, t.tenant_id, t.workflow_version, t.config,
           t.next_fire_at, w.graph
    FROM orchestrator.triggers t
    JOIN orchestrator.trigger_workflows w USING (workflow_id)
    WHERE t.kind = 'cron' AND t.next_fire_at <= :now
    ORDER BY t.next_fire_at LIMIT 1
    FOR UPDATE OF t SKIP LOCKED
    """
)
_MOVE = db.Query(
    """
    UPDATE orchestrator.triggers SET next_fire_at = :next_fire_at
    WHERE workflow_id = :workflow_id AND node_id = :node_id
    """
)
_NEXT_DUE = db.Query("SELECT min(next_fire_at) FROM orchestrator.triggers WHERE kind = 'cron'")


def slot_execution_id(workflow_id: str, node_id: str, slot: datetime) -> str:
    name = f"{workflow_id}\x1f{node_id}\x1f{utc_iso(slot)}"
    return str(uuid.uuid5(CRON_NAMESPACE, name))


def utc_iso(moment: datetime) -> str:
    """One spelling per instant (slots come back from croniter in the schedule's zone)."""
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Plan:
    """What to do with a due slot: run `run_slot` (if any), then wait for `next_fire_at`."""

    run_slot: datetime | None
    next_fire_at: datetime


def plan(cron: CronTriggerConfig, slot: datetime, now: datetime, grace: timedelta) -> Plan:
    following = next_fire(cron.expression, cron.timezone, slot)
    if following + grace > now:  # on time, or less than a period (plus grace) late
        return Plan(slot, following)
    future = next_fire(cron.expression, cron.timezone, now)
    if cron.misfire == "skip":
        return Plan(None, future)
    return Plan(latest_slot_before(cron, slot, now), future)


def latest_slot_before(cron: CronTriggerConfig, missed: datetime, now: datetime) -> datetime:
    """The last slot at or before `now`, at or after `missed` (a slot itself): look back a
    doubling window from `now`, so a long outage costs a few steps, not one per slot."""
    window = next_fire(cron.expression, cron.timezone, missed) - missed
    while True:
        start = max(missed, now - window)
        found = missed if start == missed else next_fire(cron.expression, cron.timezone, start)
        if found <= now:
            while (after := next_fire(cron.expression, cron.timezone, found)) <= now:
                found = after
            return found
        window *= 2


class CronLoop(BackgroundLoop):
    name = "cron"

    def __init__(
        self, deps: Deps, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        super().__init__()
        self._deps = deps
        self._poll = settings.cron_poll_interval_s
        self._grace = timedelta(seconds=settings.cron_misfire_grace_s)
        self._clock = clock

    async def _run(self) -> None:
        while True:
            try:
                fired = await self.fire_due()
                timeout = await self._sleep_time()
                if not fired:
                    # Due yet not claimable: another replica is firing it right now.
                    timeout = max(timeout, 0.01)
            except Exception:
                logger.exception("cron loop failed; retrying")
                timeout = self._poll
            await asyncio.sleep(timeout)

    async def _sleep_time(self) -> float:
        async with db.connection(self._pool) as conn:
            next_due: datetime | None = await _NEXT_DUE.fetchval(conn)
        if next_due is None:
            return self._poll
        return max(0.0, min(self._poll, (next_due - self._clock()).total_seconds()))

    async def fire_due(self) -> int:
        """Handle every due slot (catching up, one transaction each); how many were claimed."""
        claimed = 0
        while await self._fire_one():
            claimed += 1
        return claimed

    async def _fire_one(self) -> bool:
        effects: Effects | None = None
        async with db.transaction(self._pool) as conn:
            due = await _CLAIM_DUE.fetchrow(conn, now=self._clock())
            if due is None:
                return False
            effects = await self._fire(conn, due)
        if effects is not None:
            await self._deps.after_commit(effects)
        return True

    async def _fire(self, conn: db.Connection, due: db.Record) -> Effects | None:
        now = self._clock()
        cron = CronTriggerConfig.model_validate(due["config"])
        decided = plan(cron, due["next_fire_at"], now, self._grace)
        await _MOVE.execute(
            conn,
            workflow_id=due["workflow_id"],
            node_id=due["node_id"],
            next_fire_at=decided.next_fire_at,
        )
        if decided.run_slot is None:
            logger.warning(
                "cron %s/%s missed slots since %s; skipping to %s",
                due["workflow_id"],
                due["node_id"],
                due["next_fire_at"].isoformat(),
                decided.next_fire_at.isoformat(),
            )
            return None
        command = slot_command(due, decided.run_slot, now)
        try:
            # A savepoint: a graph that cannot run must not undo the move to the next slot
            # (the row would be claimed again and again, ahead of every other schedule).
            async with conn.transaction():
                _, effects = await self._deps.service.start(conn, command)
        except PermanentMessageError as exc:
            logger.error(
                "cron %s/%s cannot start: %s", command.workflow_id, command.trigger_node_id, exc
            )
            return None
        return effects


def slot_command(due: db.Record, slot: datetime, now: datetime) -> StartExecution:
    return StartExecution(
        tenant_id=due["tenant_id"],
        execution_id=slot_execution_id(due["workflow_id"], due["node_id"], slot),
        workflow_id=due["workflow_id"],
        workflow_version=due["workflow_version"],
        graph=WorkflowGraph.model_validate(due["graph"]),
        trigger_node_id=due["node_id"],
        payload={"scheduled_for": utc_iso(slot), "fired_at": utc_iso(now)},
        mode="cron",
    )


_LIST = db.Query(
    """
    SELECT workflow_id, workflow_version, node_id, config, next_fire_at
    FROM orchestrator.triggers
    WHERE tenant_id = :tenant_id AND kind = 'cron'
      AND (CAST(:workflow_id AS text) IS NULL OR workflow_id = :workflow_id)
    ORDER BY next_fire_at, workflow_id, node_id LIMIT :limit
    """
)


async def list_schedules(conn: db.Connection, request: ListSchedules) -> SchedulesPage:
    """The tenant's active cron triggers, soonest first."""
    rows = await _LIST.fetch(
        conn, tenant_id=request.tenant_id, workflow_id=request.workflow_id, limit=request.limit
    )
    return SchedulesPage(items=[_view(row) for row in rows])


def _view(row: db.Record) -> ScheduleView:
    cron = CronTriggerConfig.model_validate(row["config"])
    return ScheduleView(
        workflow_id=row["workflow_id"],
        workflow_version=row["workflow_version"],
        node_id=row["node_id"],
        expression=cron.expression,
        timezone=cron.timezone,
        misfire=cron.misfire,
        next_fire_at=row["next_fire_at"],
    )
