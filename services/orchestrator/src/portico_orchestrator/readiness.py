"""The readiness algorithm: pure functions of the graph and the nodes' states, no I/O.

A node is ready when every predecessor has finished (succeeded, failed-and-handled, or skipped)
and at least one incoming edge is active; when every incoming edge is inactive it is skipped,
and skipping propagates. A failed node only stays "failed" inside a running execution when its
failure was handled (an error edge or `on_error: continue`); an unhandled failure fails the
whole execution, so readiness never has to look at one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from portico_contracts.graph import RetryPolicy, WorkflowGraph
from portico_contracts.messages import TERMINAL_NODE_STATUSES
from portico_contracts.nodes import ERROR_HANDLE, NODE_TYPES, ConditionConfig
from portico_contracts.references import References, graph_references

QUEUED = "queued"
# Statuses after which a node's outgoing edges are decided.
_DECIDED = frozenset({"succeeded", "failed", "skipped", "cancelled"})


class InvalidGraphError(ValueError):
    """The snapshot cannot be run (cycle, dangling edge, unknown trigger)."""


@dataclass(frozen=True, slots=True)
class InEdge:
    source: str
    handle: str | None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    id: str
    type: str
    is_condition: bool
    on_error: str
    has_error_edge: bool
    default_branch: str | None
    retry: RetryPolicy | None


@dataclass(frozen=True, slots=True)
class NodeState:
    status: str
    attempt: int = 0
    branch: str | None = None
    suspended: bool = False
    # When the running attempt's node.ready went out (ISO): a suspended wait is dispatched
    # again with this same `dispatched_at`.
    dispatched: str | None = None
    # When the latest node.ready of this attempt went out (ISO), and how often the watchdog
    # sent it again: a node silent past its deadline is re-dispatched, then failed.
    sent: str | None = None
    redispatched: int = 0

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_NODE_STATUSES


class GraphIndex:
    """What readiness needs from a graph, computed once per execution and cached (immutable)."""

    def __init__(self, graph: WorkflowGraph) -> None:
        self.graph = graph
        self.order: tuple[str, ...] = tuple(node.id for node in graph.nodes)
        if len(set(self.order)) != len(self.order):
            raise InvalidGraphError("node ids are not unique")
        for edge in graph.edges:
            if edge.source not in graph.node_map or edge.target not in graph.node_map:
                raise InvalidGraphError(f"edge {edge.source} → {edge.target} joins unknown nodes")
        if graph.topological_order() is None:
            raise InvalidGraphError("the graph has a cycle")
        outgoing = graph.outgoing
        self.nodes: dict[str, NodeInfo] = {
            node.id: NodeInfo(
                id=node.id,
                type=node.type,
                is_condition=node.type == "condition",
                on_error=node.on_error,
                has_error_edge=any(
                    e.source_handle == ERROR_HANDLE for e in outgoing.get(node.id, [])
                ),
                default_branch=_default_branch(node.type, node.config),
                retry=node.retry,
            )
            for node in graph.nodes
        }
        self.incoming: dict[str, tuple[InEdge, ...]] = {
            node_id: tuple(
                InEdge(e.source, e.source_handle) for e in graph.incoming.get(node_id, [])
            )
            for node_id in self.order
        }
        self.successors: dict[str, tuple[str, ...]] = {
            node_id: tuple(graph.successors(node_id)) for node_id in self.order
        }
        self.triggers: frozenset[str] = frozenset(
            node.id for node in graph.nodes if is_trigger_type(node.type)
        )
        self._ancestors: dict[str, frozenset[str]] = {}
        # What each node's templates read: node.ready carries only that.
        self.references: dict[str, References] = graph_references(graph)

    def ancestors(self, node_id: str) -> frozenset[str]:
        found = self._ancestors.get(node_id)
        if found is None:
            found = self._ancestors[node_id] = frozenset(self.graph.ancestors(node_id))
        return found


def _default_branch(node_type: str, config: Mapping[str, object]) -> str | None:
    if node_type != "condition":
        return None
    try:
        return ConditionConfig.model_validate(config).default_branch
    except ValidationError:
        return None


def edge_active(index: GraphIndex, edge: InEdge, states: Mapping[str, NodeState]) -> bool | None:
    """Whether an edge carries its source's result: True, False, or None while undecided."""
    state = states[edge.source]
    if state.status not in _DECIDED:
        return None
    if state.status in ("skipped", "cancelled"):
        return False
    source = index.nodes[edge.source]
    if state.status == "failed" and source.has_error_edge:
        return edge.handle == ERROR_HANDLE
    # Succeeded, or failed with on_error=continue (which counts as succeeded on normal edges).
    if edge.handle == ERROR_HANDLE:
        return False
    if source.is_condition:
        return edge.handle == state.branch
    return True


def verdict(index: GraphIndex, node_id: str, states: Mapping[str, NodeState]) -> bool | None:
    """True when ready, False when it must be skipped, None while a predecessor is unfinished."""
    any_active = False
    for edge in index.incoming[node_id]:
        active = edge_active(index, edge, states)
        if active is None:
            return None
        any_active = any_active or active
    return any_active


@dataclass
class Settlement:
    ready: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def settle(
    index: GraphIndex, states: Mapping[str, NodeState], changed: Iterable[str]
) -> Settlement:
    """After the `changed` nodes finished, which queued nodes became ready or skipped.

    Only successors of changed (or newly skipped) nodes are examined, so the cost is the size
    of the frontier, not of the graph.
    """
    return _settle(index, states, [s for n in changed for s in index.successors[n]])


def settle_start(index: GraphIndex, states: Mapping[str, NodeState]) -> Settlement:
    """At start every node is examined: a non-trigger node without predecessors is skipped."""
    return _settle(index, states, index.order)


def _settle(index: GraphIndex, states: Mapping[str, NodeState], work: Iterable[str]) -> Settlement:
    local = dict(states)
    result = Settlement()
    queue: deque[str] = deque(work)
    while queue:
        node_id = queue.popleft()
        if local[node_id].status != QUEUED:
            continue
        decided = verdict(index, node_id, local)
        if decided is None:
            continue
        if decided:
            result.ready.append(node_id)
            local[node_id] = NodeState("running", 1)
        else:
            result.skipped.append(node_id)
            local[node_id] = NodeState("skipped")
            queue.extend(index.successors[node_id])
    return result


def initial_states(index: GraphIndex, trigger_id: str) -> dict[str, NodeState]:
    """Every node queued, the firing trigger succeeded, every other trigger skipped."""
    if trigger_id not in index.triggers:
        raise InvalidGraphError(f"'{trigger_id}' is not a trigger node of this graph")
    states = {node_id: NodeState(QUEUED) for node_id in index.order}
    for node_id in index.triggers:
        states[node_id] = (
            NodeState("succeeded", 1) if node_id == trigger_id else NodeState("skipped")
        )
    return states


def all_terminal(states: Mapping[str, NodeState]) -> bool:
    return all(state.terminal for state in states.values())


@dataclass(frozen=True, slots=True)
class Retry:
    delay_ms: int


@dataclass(frozen=True, slots=True)
class Handled:
    """The node fails but the execution goes on: through its error edges or its normal ones."""

    route: Literal["error_edge", "continue"]


@dataclass(frozen=True, slots=True)
class Fatal:
    pass


FailureRoute = Retry | Handled | Fatal


def failure_route(info: NodeInfo, attempt: int, retryable: bool) -> FailureRoute:
    """What a failed attempt leads to, by the node's retry policy and error handling."""
    policy = info.retry
    if retryable and policy is not None and attempt < policy.max_attempts:
        return Retry(policy.delay_ms(attempt))
    if info.has_error_edge:
        return Handled("error_edge")
    if info.on_error == "continue":
        return Handled("continue")
    return Fatal()


def failed_state(info: NodeInfo, attempt: int, route: Handled) -> NodeState:
    # A condition that continues after failing follows its default branch.
    branch = info.default_branch if route.route == "continue" else None
    return NodeState("failed", attempt, branch)


def active_inputs(
    index: GraphIndex, node_id: str, states: Mapping[str, NodeState]
) -> list[tuple[str, bool]]:
    """(predecessor, via_error_edge) for each active incoming edge, predecessors once."""
    seen: dict[str, bool] = {}
    for edge in index.incoming[node_id]:
        if edge.source not in seen and edge_active(index, edge, states):
            seen[edge.source] = edge.handle == ERROR_HANDLE
    return list(seen.items())


def is_trigger_type(node_type: str) -> bool:
    # Trigger types the contracts do not list yet (webhook, cron, event) still start executions.
    known = NODE_TYPES.get(node_type)
    return known.is_trigger if known is not None else node_type.startswith("trigger.")
