"""The transitions of the execution state machine, shared by every command.

`Transitions` holds what a command does to an execution once it has the row locked: begin
it, record a node's success, suspension or failure (with its retry policy and error routes),
skip and dispatch what that settles, cancel what is left. `ExecutionService` (service.py)
builds its public commands from these. No transport and no commit here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from portico_contracts.graph import Node
from portico_contracts.messages import (
    SCHEMA_VERSION,
    TERMINAL_EXECUTION_STATUSES,
    ExecutionInfo,
    NodeError,
    NodeReady,
    NodeResult,
    new_id,
    utcnow,
)
from portico_contracts.topology import NODES_EXCHANGE, node_ready_key
from portico_orchestrator import readiness, repository
from portico_orchestrator.cache import CachedExecution, ExecutionCache, Outputs
from portico_orchestrator.db import Connection
from portico_orchestrator.grants import GrantSigner
from portico_orchestrator.graphs import GraphCache
from portico_orchestrator.readiness import GraphIndex, Handled, NodeState, Retry, Settlement
from portico_orchestrator.step import Effects, ExecutionRow, Step, TimerSpec, dumps

_HAS_OUTPUT = frozenset({"succeeded", "failed"})


@dataclass(frozen=True)
class ReusedRun:
    """A node that succeeded in the execution being retried, taken over as it was."""

    attempt: int
    branch: str | None
    output: Any
    fields: dict[str, Any]  # its node run's input and timings


@dataclass(frozen=True)
class Limits:
    """Bounds the state machine enforces (from the orchestrator's settings)."""

    max_message_bytes: int = 32 * 1024 * 1024
    max_retry_after_s: float = 3600.0
    tenant_max_running: int = 1000
    # The watchdog's deadlines (see config.py).
    node_deadline_s: float = 300.0
    wait_deadline_s: float = 90.0
    deadline_grace_s: float = 30.0
    redispatches: int = 1

    def deadline_s(self, node: Node) -> float:
        """How long a dispatched node may stay silent. A wait holds its delivery for as long
        as executors wait inline (longer ones come back `suspended`), whatever its timeout."""
        if node.type == "wait":
            return self.wait_deadline_s
        if node.timeout_s is None:
            return self.node_deadline_s
        return float(node.timeout_s) + self.deadline_grace_s


class Transitions:
    def __init__(
        self,
        cache: ExecutionCache,
        clock: Callable[[], datetime] = utcnow,
        limits: Limits | None = None,
        rng: random.Random | None = None,
        signer: GrantSigner | None = None,
        graphs: GraphCache | None = None,
    ) -> None:
        self.cache = cache
        self.graphs = graphs or GraphCache(256)
        self.clock = clock
        self.limits = limits or Limits()
        self.rng = rng or random.Random()
        # Without one (tests of the state machine alone), a node's credential comes without a
        # grant and the executor fails it, saying so.
        self.signer = signer
        self.owner: int | None = None  # this replica's outbox owner key, once it holds it

    def _step(self, row: ExecutionRow, index: GraphIndex, **kwargs: Any) -> Step:
        return Step(row, index, self.clock(), owner=self.owner, **kwargs)

    def committed(self, effects: Effects) -> None:
        """After commit: remember the outputs the step recorded, forget finished executions."""
        if effects.execution_id is None:
            return
        if effects.finished:
            self.cache.drop(effects.execution_id)
            return
        self.cache.learn(effects.execution_id, effects.outputs, effects.outputs_size)
        if effects.row is not None:
            self.cache.remember_row(effects.execution_id, effects.row)

    async def _begin(
        self,
        conn: Connection,
        step: Step,
        payload: Any,
        size: int,
        reused: Mapping[str, ReusedRun],
    ) -> None:
        """Run a created execution: its trigger fired with `payload`, dispatch what is ready."""
        row, index, states, now = step.row, step.index, step.states, step.now
        row.status, row.started_at = "running", now
        step.emit("execution.started", "running")
        trigger = row.trigger_node_id
        step.set_node(trigger, states[trigger], output=payload, started_at=now, finished_at=now)
        step.emit("node.succeeded", "succeeded", node_id=trigger, attempt=1, output=payload)
        step.learn(trigger, payload, None, size)
        for other in sorted(index.triggers - {trigger}):
            step.set_node(other, states[other], finished_at=now)
            step.emit("node.skipped", "skipped", node_id=other)
        for node_id, run in reused.items():
            done = NodeState("succeeded", run.attempt, run.branch)
            step.set_node(node_id, done, **run.fields)
            step.emit(
                "node.succeeded",
                done.status,
                node_id=node_id,
                attempt=done.attempt,
                output=run.output,
            )
            step.learn(node_id, run.output, None, 0)
        settled = readiness.settle_start(index, states)
        await self._advance(conn, step, settled)

    # --- transitions ---------------------------------------------------------------------------

    async def _succeed(self, conn: Connection, step: Step, result: NodeResult, size: int) -> None:
        node = step.index.nodes[result.node_id]
        branch = result.branch if node.is_condition else None
        step.set_node(
            node.id,
            NodeState("succeeded", result.attempt, branch),
            output=result.output,
            error=None,
            **_timing_and_input(result),
        )
        step.emit(
            "node.succeeded",
            "succeeded",
            node_id=node.id,
            attempt=result.attempt,
            output=result.output,
        )
        step.learn(node.id, result.output, None, size)
        settled = readiness.settle(step.index, step.states, [node.id])
        await self._advance(conn, step, settled)

    def _suspend(self, step: Step, result: NodeResult, state: NodeState) -> None:
        # The same attempt goes out again at resume_at with the same dispatched_at, so the
        # wait measures from when it first began and then finds itself done.
        step.set_node(result.node_id, replace(state, suspended=True))
        first = datetime.fromisoformat(state.dispatched) if state.dispatched else None
        step.add_timer(
            TimerSpec(
                result.node_id,
                "resume",
                state.attempt,
                result.resume_at or step.now,
                dispatched_at=first or result.started_at,
            )
        )

    async def _fail(self, conn: Connection, step: Step, result: NodeResult, size: int) -> None:
        node = step.index.nodes[result.node_id]
        error = result.error or NodeError(message="the node failed without an error")
        error_json = error.model_dump(mode="json")
        route = readiness.failure_route(node, result.attempt, error.retryable)
        timing = _timing_and_input(result)
        if isinstance(route, Retry):
            step.set_node(
                node.id, NodeState("retrying", result.attempt), error=error_json, **timing
            )
            due = step.now + timedelta(milliseconds=self._retry_delay_ms(route, error))
            step.add_timer(TimerSpec(node.id, "retry", result.attempt + 1, due))
            step.emit(
                "node.retrying", "retrying", node_id=node.id, attempt=result.attempt, error=error
            )
            return
        if isinstance(route, Handled):
            # With on_error=continue the error becomes the output its normal edges carry.
            output = error_json if route.route == "continue" else None
            state = readiness.failed_state(node, result.attempt, route)
            step.set_node(node.id, state, output=output, error=error_json, **timing)
            step.emit("node.failed", "failed", node_id=node.id, attempt=result.attempt, error=error)
            step.learn(node.id, output, error_json, size)
            settled = readiness.settle(step.index, step.states, [node.id])
            await self._advance(conn, step, settled)
            return
        step.set_node(node.id, NodeState("failed", result.attempt), error=error_json, **timing)
        step.emit("node.failed", "failed", node_id=node.id, attempt=result.attempt, error=error)
        self._cancel_unfinished(step)
        details = {**(error.details or {}), "node_id": node.id}
        failure = error.model_copy(update={"details": details})
        step.set_execution("failed", failure)
        step.emit("execution.failed", "failed", error=failure)

    def _retry_delay_ms(self, route: Retry, error: NodeError) -> float:
        """The policy's delay with ±25 % jitter (so retries of many executions that failed
        together do not come back together), and never sooner than a Retry-After the remote
        service asked for."""
        delay = route.delay_ms * self.rng.uniform(0.75, 1.25)
        asked = (error.details or {}).get("retry_after_s")
        if isinstance(asked, int | float) and not isinstance(asked, bool) and asked > 0:
            delay = max(delay, min(float(asked), self.limits.max_retry_after_s) * 1000)
        return delay

    async def _advance(self, conn: Connection, step: Step, settled: Settlement) -> None:
        """Skip what can no longer run, dispatch what became ready, finish when all is done."""
        for node_id in settled.skipped:
            step.set_node(node_id, NodeState("skipped"), finished_at=step.now)
            step.emit("node.skipped", "skipped", node_id=node_id)
        if settled.ready:
            await self._dispatch(conn, step, [(n, 1) for n in settled.ready], None)
        # Still running: a node failing while being dispatched may have ended it already.
        if step.row.status == "running" and readiness.all_terminal(step.states):
            step.set_execution("succeeded")
            step.emit("execution.succeeded", "succeeded")

    async def _dispatch(
        self,
        conn: Connection,
        step: Step,
        targets: list[tuple[str, int]],
        dispatched_at: datetime | None,
        redispatched: int = 0,
    ) -> None:
        index, states, row = step.index, step.states, step.row
        outputs = await self._outputs_for(conn, step, targets)
        too_large: list[tuple[str, int, int]] = []
        # node.ready is built from the state machine's own, already valid data: not validated.
        info = ExecutionInfo.model_construct(
            id=row.id, workflow_id=row.workflow_id, started_at=row.started_at or row.created_at
        )
        trigger_output = outputs.get(row.trigger_node_id, (None, None))[0]
        for node_id, attempt in targets:
            node = index.graph.node_map[node_id]
            reads = index.references[node_id]
            inputs = (
                {
                    pred: outputs.get(pred, (None, None))[1 if via_error else 0]
                    for pred, via_error in readiness.active_inputs(index, node_id, states)
                }
                if reads.input
                else {}
            )
            message = NodeReady.model_construct(
                # Every field given: a default factory costs model_construct a signature check.
                schema_version=SCHEMA_VERSION,
                message_id=new_id(),
                tenant_id=row.tenant_id,
                execution_id=row.id,
                workflow_id=row.workflow_id,
                node_id=node_id,
                node_type=node.type,
                attempt=attempt,
                config=node.config,
                credential_id=node.credential_id,
                credential_grant=self._grant(row, node, attempt),
                timeout_s=node.timeout_s,
                trigger=trigger_output if reads.trigger else None,
                nodes=_context_nodes(index, node_id, states, outputs),
                execution=info,
                inputs=inputs,
                dispatched_at=dispatched_at or step.now,
            )
            body = message.model_dump_json()
            fields: dict[str, Any] = {"input": inputs, "finished_at": None}
            if dispatched_at is None:
                fields["started_at"] = step.now
            first = message.dispatched_at.isoformat()
            sent = None if dispatched_at is None else step.now.isoformat()
            state = NodeState("running", attempt, dispatched=first, sent=sent)
            step.set_node(node_id, replace(state, redispatched=redispatched), **fields)
            if not redispatched:
                step.emit("node.running", "running", node_id=node_id, attempt=attempt)
            if len(body) > self.limits.max_message_bytes:
                too_large.append((node_id, attempt, len(body)))
            else:
                step.send(NODES_EXCHANGE.name, node_ready_key(node.type), message, body)
        for node_id, attempt, size in too_large:
            await self._fail(
                conn, step, _message_too_large(step, node_id, attempt, size, self.limits), 0
            )

    def _grant(self, row: ExecutionRow, node: Node, attempt: int) -> str | None:
        if node.credential_id is None or self.signer is None:
            return None
        return self.signer.for_node(
            row.tenant_id,
            row.id,
            node.id,
            attempt,
            node.credential_id,
            self.limits.deadline_s(node),
        )

    async def _outputs_for(
        self, conn: Connection, step: Step, targets: list[tuple[str, int]]
    ) -> Outputs:
        """Outputs the targets' templates read: from this step, the cache, else the database."""
        index = step.index
        wanted: set[str] = set()
        for node_id, _ in targets:
            reads = index.references[node_id]
            wanted |= reads.nodes_among(index.ancestors(node_id))
            if reads.input:
                wanted |= {edge.source for edge in index.incoming[node_id]}
            if reads.trigger:
                wanted.add(step.row.trigger_node_id)
        known = step.cached.keys() | step.learned.keys()
        missing = {n for n in wanted if step.states[n].status in _HAS_OUTPUT and n not in known}
        loaded = await repository.load_outputs(conn, step.row.id, missing)
        for node_id, (output, error) in loaded.items():
            step.learn(node_id, output, error, len(dumps([output, error])))
        return {**step.cached, **step.learned}

    def _cancel_unfinished(self, step: Step) -> None:
        for node_id in step.index.order:
            state = step.states[node_id]
            if not state.terminal:
                step.set_node(node_id, NodeState("cancelled", state.attempt), finished_at=step.now)
                step.emit(
                    "node.cancelled", "cancelled", node_id=node_id, attempt=state.attempt or None
                )

    # --- plumbing ------------------------------------------------------------------------------

    async def _load(
        self, conn: Connection, execution_id: str
    ) -> tuple[ExecutionRow, CachedExecution] | None:
        entry = self.cache.get(execution_id)
        loaded = await repository.lock_execution(conn, execution_id, with_graph=entry is None)
        if loaded is None:
            return None
        row, graph_json = loaded
        if entry is None:
            version = (row.tenant_id, row.workflow_id, row.workflow_version)
            index = self.graphs.for_stored(version, graph_json)
            if row.status in TERMINAL_EXECUTION_STATUSES:
                entry = CachedExecution(index)
            else:
                entry = self.cache.put(execution_id, index)
        return row, entry

    async def _load_live_node(
        self, conn: Connection, execution_id: str, node_id: str, tenant_id: str | None = None
    ) -> tuple[ExecutionRow, CachedExecution, NodeState] | None:
        """The execution (locked) and one node's state; None when the execution is gone, is
        another tenant's (if `tenant_id` is given), is over, or has no such node."""
        loaded = await self._load(conn, execution_id)
        if loaded is None:
            return None
        row, entry = loaded
        state = row.states.get(node_id)
        if tenant_id is not None and row.tenant_id != tenant_id:
            return None
        if row.status in TERMINAL_EXECUTION_STATUSES or state is None:
            return None
        return row, entry, state

    async def _save(self, conn: Connection, step: Step) -> Effects:
        """Save a step made under the row lock, which nothing can have changed since."""
        effects = await repository.save_step(conn, step)
        if effects is None:
            raise RuntimeError(f"execution {step.row.id} was not saved under its row lock")
        return effects


def _timing_and_input(result: NodeResult) -> dict[str, Any]:
    """The executor's own timings, and the rendered config it ran with when it reports one
    (the run's recorded input; otherwise the inputs sent in node.ready stand)."""
    fields: dict[str, Any] = {"started_at": result.started_at, "finished_at": result.finished_at}
    if result.input is not None:
        fields["input"] = result.input
    return fields


def _context_nodes(
    index: GraphIndex, node_id: str, states: dict[str, NodeState], outputs: Outputs
) -> dict[str, Any]:
    """`nodes` of the template context: the ancestors its templates read that produced an
    output (or error)."""
    found: dict[str, Any] = {}
    reads = index.references[node_id]
    for ancestor in reads.nodes_among(index.ancestors(node_id)):
        status = states[ancestor].status
        if status not in _HAS_OUTPUT or ancestor not in outputs:
            continue
        output, error = outputs[ancestor]
        found[ancestor] = (
            {"output": output, "error": error} if status == "failed" else {"output": output}
        )
    return found


def _message_too_large(
    step: Step, node_id: str, attempt: int, size: int, limits: Limits
) -> NodeResult:
    """The failure of a node whose node.ready would be over the message size limit."""
    error = NodeError(
        message=(
            f"the data this node reads adds up to {size} bytes, over the message limit of "
            f"{limits.max_message_bytes} bytes (PORTICO_MAX_MESSAGE_BYTES); reference less of "
            "the upstream outputs in its templates, or make them smaller"
        ),
        type="MessageTooLarge",
        details={"size_bytes": size, "limit_bytes": limits.max_message_bytes},
    )
    return failed_result(step.row, node_id, attempt, error, step.now)


def failed_result(
    row: ExecutionRow, node_id: str, attempt: int, error: NodeError, now: datetime
) -> NodeResult:
    """A failed attempt the orchestrator itself decided on (no executor reported it)."""
    return NodeResult(
        tenant_id=row.tenant_id,
        execution_id=row.id,
        node_id=node_id,
        attempt=attempt,
        status="failed",
        error=error,
        started_at=now,
        finished_at=now,
    )
