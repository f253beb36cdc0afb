"""The execution state machine's commands: start, node results, timers, cancel, retries of
lost attempts, admission. No transport here.

Each public method runs inside the caller's transaction on one execution, whose row it locks
first, and returns the `Effects` to carry out after commit (outbox rows to publish, timers to
wake for). Duplicate and late messages change nothing, so redelivery is always safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portico_contracts.dead_letter import PermanentMessageError
from portico_contracts.messages import (
    TERMINAL_EXECUTION_STATUSES,
    NodeError,
    NodeResult,
    StartExecution,
)
from portico_contracts.queries import ExecutionSummary
from portico_orchestrator import admission, readiness, repository
from portico_orchestrator.cache import CachedExecution
from portico_orchestrator.db import Connection
from portico_orchestrator.dead_letters import DeadLetter
from portico_orchestrator.readiness import NodeState
from portico_orchestrator.step import Effects, ExecutionRow, Step
from portico_orchestrator.transitions import Limits, ReusedRun, Transitions, failed_result
from portico_orchestrator.usage import spent_by

__all__ = ["ArrivedResult", "ExecutionService", "Limits", "ReusedRun"]


@dataclass(frozen=True, slots=True)
class ArrivedResult:
    """A node result as it came off the broker: `size` (its bytes) bounds the output cache,
    `trace` (W3C trace context) goes along on the messages it causes."""

    result: NodeResult
    size: int = 0
    trace: dict[str, str] | None = None


class ExecutionService(Transitions):
    # --- commands ------------------------------------------------------------------------------

    async def start(
        self,
        conn: Connection,
        command: StartExecution,
        size: int = 0,
        trace: dict[str, str] | None = None,
        reused: Mapping[str, ReusedRun] | None = None,
        retry_of: str | None = None,
    ) -> tuple[ExecutionSummary, Effects]:
        """Create the execution (once per id), complete its trigger, dispatch what is ready.

        A retry (`retry_of`) starts with the `reused` nodes already succeeded, as they did in
        the execution it retries, so only the rest run again."""
        try:
            version = (command.tenant_id, command.workflow_id, command.workflow_version)
            graph = self.graphs.for_command(version, command.graph)
            index = graph.index
            states = readiness.initial_states(index, command.trigger_node_id)
        except readiness.InvalidGraphError as exc:
            raise PermanentMessageError(
                f"cannot run execution {command.execution_id}: {exc}"
            ) from exc
        now = self.clock()
        row = ExecutionRow(
            id=command.execution_id,
            tenant_id=command.tenant_id,
            workflow_id=command.workflow_id,
            workflow_version=command.workflow_version,
            mode=command.mode,
            trigger_node_id=command.trigger_node_id,
            status="queued",
            states=states,
            last_seq=0,
            created_at=now,
            retry_of=retry_of,
            max_concurrency=command.graph.settings.max_concurrency,
        )
        step = Step(row, index, now, trace=trace, owner=self.owner)
        # A retry is a person's explicit request: it runs at once, whatever the limits.
        if retry_of is not None or await self._admits(conn, row):
            await self._begin(conn, step, command.payload, size, reused or {})
        else:
            step.emit("execution.queued", "queued")

        rows = self._initial_node_rows(step)
        effects = await repository.insert_execution(conn, command, step, graph.graph_json, rows)
        if effects is None:
            return await self._existing(conn, command), Effects()
        if row.status == "running":
            self.cache.put(row.id, index)
        return row.summary(), effects

    async def admit_queued(self, conn: Connection, tenant_id: str) -> Effects:
        """Start the tenant's oldest queued executions that the limits now allow."""
        await admission.lock_tenant(conn, tenant_id)
        effects = Effects()
        running: dict[str, int] = {}
        for execution_id, workflow_id, workflow_limit in await admission.queued(
            conn, tenant_id, 50
        ):
            load = await admission.load(
                conn, tenant_id, workflow_id, self.limits.tenant_max_running, workflow_limit
            )
            started = running.get(workflow_id, 0)
            if load.tenant_running + sum(running.values()) >= self.limits.tenant_max_running:
                break
            if workflow_limit is not None and load.workflow_running + started >= workflow_limit:
                continue
            begun = await self._begin_queued(conn, execution_id)
            effects.messages.extend(begun.messages)
            running[workflow_id] = started + 1
        return effects

    async def _admits(self, conn: Connection, row: ExecutionRow) -> bool:
        await admission.lock_tenant(conn, row.tenant_id)
        load = await admission.load(
            conn,
            row.tenant_id,
            row.workflow_id,
            self.limits.tenant_max_running,
            row.max_concurrency,
        )
        return load.admits(self.limits.tenant_max_running, row.max_concurrency)

    async def _begin_queued(self, conn: Connection, execution_id: str) -> Effects:
        loaded = await self._load(conn, execution_id)
        if loaded is None or loaded[0].status != "queued":
            return Effects()
        row, entry = loaded
        payload = await repository.load_payload(conn, execution_id)
        step = self._step(row, entry.index)
        await self._begin(conn, step, payload, 0, {})
        return await self._save(conn, step)

    async def apply_results(self, conn: Connection, arrived: Sequence[ArrivedResult]) -> Effects:
        """Record the outcomes of several attempts of one execution, in arrival order, as one
        step, under the row lock: the branches of a fan-in that finish together share one save.
        Each result is checked as if it came alone; duplicates and answers to attempts that are
        over change nothing. A result naming another execution or tenant, or no such node,
        refuses all."""
        loaded = await self._load(conn, arrived[0].result.execution_id)
        if loaded is None or loaded[0].tenant_id != arrived[0].result.tenant_id:
            raise PermanentMessageError(f"unknown execution {arrived[0].result.execution_id}")
        row, entry = loaded
        applied = await self._apply(conn, row, entry, arrived, needs_all=False)
        if applied is None:
            return Effects()
        return await self._save(conn, applied)

    async def apply_results_unlocked(
        self, conn: Connection, arrived: Sequence[ArrivedResult]
    ) -> Effects | None:
        """`apply_results` in one statement on an autocommit connection, without BEGIN, row
        lock or COMMIT: applied to the row as this replica last saved it, and saved only if
        nobody saved it since (its version). None (nothing written): call `apply_results` in a
        transaction, because this replica holds no saved row, a result spent AI tokens (added
        under the lock), a result does not apply to the row as kept here (the truth may have
        moved on: only the locked row can tell a duplicate), or the row changed meanwhile."""
        execution_id = arrived[0].result.execution_id
        entry = self.cache.get(execution_id)
        if entry is None or entry.row is None:
            return None
        if entry.row.tenant_id != arrived[0].result.tenant_id:
            raise PermanentMessageError(f"unknown execution {execution_id}")
        if any(spent_by(item.result) is not None for item in arrived):
            return None
        row = entry.row.copy()
        step = await self._apply(conn, row, entry, arrived, needs_all=True)
        if step is None:
            return None
        return await repository.save_step(conn, step, expected_version=entry.row.version)

    async def _apply(
        self,
        conn: Connection,
        row: ExecutionRow,
        entry: CachedExecution,
        arrived: Sequence[ArrivedResult],
        *,
        needs_all: bool,
    ) -> Step | None:
        """The step recording every result that answers its node's running attempt; None if
        none does, or (`needs_all`) if any does not."""
        step: Step | None = None
        for item in arrived:
            result = item.result
            if row.id != result.execution_id or row.tenant_id != result.tenant_id:
                raise PermanentMessageError(f"result of {result.execution_id} sent with {row.id}")
            state = row.states.get(result.node_id)
            if state is None:
                raise PermanentMessageError(f"execution {row.id} has no node '{result.node_id}'")
            if row.status in TERMINAL_EXECUTION_STATUSES or not _awaits(state, result.attempt):
                if needs_all:
                    return None
                continue  # a duplicate, or the answer to an attempt that is over
            spent = spent_by(result)
            if spent is not None:
                await repository.add_spent(conn, row.id, spent)
            result = _began_at_first_dispatch(result, state)
            if step is None:
                step = self._step(row, entry.index, cached=entry.outputs)
            step.trace = item.trace  # what this result causes carries its trace
            if result.status == "succeeded":
                await self._succeed(conn, step, result, item.size)
            elif result.status == "suspended":
                self._suspend(step, result, state)
            else:
                await self._fail(conn, step, result, item.size)
        return step

    async def fire_timer(
        self,
        conn: Connection,
        execution_id: str,
        node_id: str,
        attempt: int,
        dispatched_at: datetime | None,
    ) -> Effects:
        """Dispatch a node whose retry delay or wait is over, unless that moment has passed."""
        live = await self._load_live_node(conn, execution_id, node_id)
        if live is None:
            return Effects()
        row, entry, state = live
        retry_due = state.status == "retrying" and state.attempt == attempt - 1
        resume_due = state.status == "running" and state.suspended and state.attempt == attempt
        if not (retry_due or resume_due):
            return Effects()
        step = self._step(row, entry.index, cached=entry.outputs)
        await self._dispatch(conn, step, [(node_id, attempt)], dispatched_at)
        return await self._save(conn, step)

    async def dead_lettered(self, conn: Connection, letter: DeadLetter) -> Effects:
        """Record a message the system gave up on; when it dispatched or answered one node's
        attempt, that attempt fails with the reason instead of waiting forever."""
        await repository.record_dead_letter(conn, letter)
        lost = letter.lost_attempt
        if lost is None:
            return Effects()
        tenant_id, execution_id, node_id, attempt = lost
        error = NodeError(
            message=f"this node's {letter.kind} message was dead-lettered: {letter.reason}",
            type="DeadLettered",
            details={"message_id": letter.message_id},
        )
        return await self.fail_attempt(conn, tenant_id, execution_id, node_id, attempt, error)

    async def fail_attempt(
        self,
        conn: Connection,
        tenant_id: str,
        execution_id: str,
        node_id: str,
        attempt: int,
        error: NodeError,
    ) -> Effects:
        """Fail an attempt nobody will report on (its message was dead-lettered or parked),
        if it is still the one running; its retry policy and error handling then apply."""
        live = await self._load_live_node(conn, execution_id, node_id, tenant_id)
        if live is None:
            return Effects()
        row, entry, state = live
        if state.status != "running" or state.attempt != attempt:
            return Effects()
        step = self._step(row, entry.index, cached=entry.outputs)
        await self._fail(conn, step, failed_result(row, node_id, attempt, error, step.now), 0)
        return await self._save(conn, step)

    async def enforce_deadline(
        self, conn: Connection, execution_id: str, node_id: str, attempt: int
    ) -> Effects:
        """The watchdog's verdict on a node that may be overdue: nothing if it is not (any
        more), else dispatch the same attempt again, or once that was tried, fail it."""
        live = await self._load_live_node(conn, execution_id, node_id)
        if live is None:
            return Effects()
        row, entry, state = live
        if not _awaits(state, attempt):
            return Effects()
        since = state.sent or state.dispatched
        node = entry.index.graph.node_map[node_id]
        deadline = self.limits.deadline_s(node)
        now = self.clock()
        if since is None or (now - datetime.fromisoformat(since)).total_seconds() < deadline:
            return Effects()
        step = self._step(row, entry.index, cached=entry.outputs)
        if state.redispatched < self.limits.redispatches:
            first = datetime.fromisoformat(state.dispatched) if state.dispatched else None
            await self._dispatch(
                conn, step, [(node_id, attempt)], first or now, state.redispatched + 1
            )
        else:
            error = NodeError(
                message=(
                    f"no result within {deadline:g} s of dispatch (sent "
                    f"{state.redispatched + 1} times); the executor may have crashed or hung"
                ),
                type="Timeout",
                retryable=True,
                details={"deadline_s": deadline},
            )
            await self._fail(conn, step, failed_result(row, node_id, attempt, error, now), 0)
        return await self._save(conn, step)

    async def cancel(
        self,
        conn: Connection,
        tenant_id: str,
        execution_id: str,
        reason: str | None,
        trace: dict[str, str] | None = None,
    ) -> tuple[ExecutionSummary | None, Effects]:
        """Cancel a running execution; a terminal one is returned as it is. None: not found."""
        loaded = await self._load(conn, execution_id)
        if loaded is None or loaded[0].tenant_id != tenant_id:
            return None, Effects()
        row, entry = loaded
        if row.status in TERMINAL_EXECUTION_STATUSES:
            return row.summary(), Effects()
        step = self._step(row, entry.index, trace=trace)
        self._cancel_unfinished(step)
        error = NodeError(message=reason, type="Cancelled") if reason else None
        step.set_execution("cancelled", error)
        step.emit("execution.cancelled", "cancelled", error=error)
        effects = await self._save(conn, step)
        return row.summary(), effects

    async def _existing(self, conn: Connection, command: StartExecution) -> ExecutionSummary:
        loaded = await repository.lock_execution(conn, command.execution_id, with_graph=False)
        if loaded is None or loaded[0].tenant_id != command.tenant_id:
            raise PermanentMessageError(f"execution id {command.execution_id} is already taken")
        return loaded[0].summary()

    @staticmethod
    def _initial_node_rows(step: Step) -> list[dict[str, Any]]:
        rows = []
        for ordinal, node in enumerate(step.index.graph.nodes):
            row: dict[str, Any] = {
                "node_id": node.id,
                "ordinal": ordinal,
                "node_type": node.type,
                "status": "queued",
                "attempt": 0,
            }
            row.update(step.node_updates.get(node.id, {}))
            rows.append(row)
        return rows


def _awaits(state: NodeState, attempt: int) -> bool:
    """Whether the node is running `attempt` and awaits its result (not over, not suspended)."""
    return state.status == "running" and state.attempt == attempt and not state.suspended


def _began_at_first_dispatch(result: NodeResult, state: NodeState) -> NodeResult:
    """An attempt sent again (a wait resumed, or one re-dispatched by the watchdog) began when
    it was first dispatched, not when the executor picked up the last copy: the recorded
    `started_at` says so, or a 4 s wait would show as the time since it resumed."""
    if state.sent is None or state.dispatched is None:
        return result
    began = datetime.fromisoformat(state.dispatched)
    if began >= result.started_at:
        return result
    return result.model_copy(update={"started_at": began})
