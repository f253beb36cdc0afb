"""Retrying an execution: a new execution of the same graph and payload, linked to the old
one, that takes over what succeeded and runs the rest again.

A node is taken over only if it succeeded and every node it depends on was taken over too (or
is the trigger that fired), so nothing reused was computed from an output that will now
change. Whatever failed, was cancelled or never ran — and everything downstream of it — runs
again, from attempt 1.
"""

from __future__ import annotations

from typing import Any

from portico_contracts.dead_letter import PermanentMessageError
from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import StartExecution
from portico_contracts.queries import ExecutionSummary, RetryExecutionRequest
from portico_orchestrator.db import Connection, Query
from portico_orchestrator.readiness import GraphIndex
from portico_orchestrator.service import ExecutionService, ReusedRun
from portico_orchestrator.step import Effects, decode_states

RETRYABLE_STATUSES = frozenset({"failed", "cancelled"})

_ORIGINAL = Query(
    """
    SELECT tenant_id, status, workflow_id, workflow_version, mode, trigger_node_id, graph,
           payload, node_state
    FROM orchestrator.executions WHERE id = :id
    """
)
_RUNS = Query(
    """
    SELECT node_id, input, output, started_at, finished_at FROM orchestrator.node_runs
    WHERE execution_id = :id AND node_id = ANY(CAST(:node_ids AS text[]))
    """
)


class NotRetryableError(PermanentMessageError):
    """The execution exists but is still running, or succeeded: nothing to retry."""


def reusable(index: GraphIndex, trigger: str, succeeded: set[str]) -> list[str]:
    """Nodes to take over, in topological order."""
    taken = {trigger}
    order = index.graph.topological_order() or []
    for node_id in order:
        if node_id in succeeded and node_id not in index.triggers:
            predecessors = {edge.source for edge in index.incoming[node_id]}
            if predecessors <= taken:
                taken.add(node_id)
    return [node_id for node_id in order if node_id in taken and node_id != trigger]


async def retry_execution(
    service: ExecutionService, conn: Connection, request: RetryExecutionRequest
) -> tuple[ExecutionSummary, Effects] | None:
    """None when the execution is not the caller's (or does not exist)."""
    original = await _ORIGINAL.fetchrow(conn, id=request.execution_id)
    if original is None or original["tenant_id"] != request.tenant_id:
        return None
    if original["status"] not in RETRYABLE_STATUSES:
        raise NotRetryableError(
            f"execution {request.execution_id} is {original['status']}: only failed or "
            "cancelled executions can be retried"
        )
    graph = WorkflowGraph.model_validate(original["graph"])
    states = decode_states(original["node_state"])
    succeeded = {node_id for node_id, state in states.items() if state.status == "succeeded"}
    taken = reusable(GraphIndex(graph), original["trigger_node_id"], succeeded)
    runs = {
        r["node_id"]: r for r in await _RUNS.fetch(conn, id=request.execution_id, node_ids=taken)
    }
    reused = {
        node_id: _reused(states[node_id].attempt, states[node_id].branch, runs[node_id])
        for node_id in taken
    }
    command = StartExecution(
        tenant_id=request.tenant_id,
        execution_id=request.new_execution_id,
        workflow_id=original["workflow_id"],
        workflow_version=original["workflow_version"],
        graph=graph,
        trigger_node_id=original["trigger_node_id"],
        payload=original["payload"],
        mode=original["mode"],
    )
    return await service.start(conn, command, reused=reused, retry_of=request.execution_id)


def _reused(attempt: int, branch: str | None, run: Any) -> ReusedRun:
    return ReusedRun(
        attempt=attempt,
        branch=branch,
        output=run["output"],
        fields={
            "input": run["input"],
            "output": run["output"],
            "started_at": run["started_at"],
            "finished_at": run["finished_at"],
        },
    )
