"""The readiness algorithm on its own: examples, then random graphs with hypothesis."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portico_contracts.graph import WorkflowGraph
from portico_orchestrator import readiness
from portico_orchestrator.readiness import (
    Fatal,
    GraphIndex,
    Handled,
    NodeState,
    Retry,
    failure_route,
    initial_states,
    settle,
)


def graph(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str | None]]) -> GraphIndex:
    return GraphIndex(
        WorkflowGraph.model_validate(
            {
                "name": "g",
                "nodes": nodes,
                "edges": [{"source": s, "target": t, "source_handle": h} for s, t, h in edges],
            }
        )
    )


def condition(node_id: str, branches: list[str], **extra: Any) -> dict[str, Any]:
    rules = [{"value": 1, "operator": "eq", "compare_to": 1, "branch": b} for b in branches[:-1]]
    config = {"rules": rules or [{"value": 1, "operator": "eq", "branch": "x"}]}
    config["default_branch"] = branches[-1]
    return {"id": node_id, "type": "condition", "config": config, **extra}


def task(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "test.task", **extra}


TRIGGER = {"id": "t", "type": "trigger.manual"}


def finish(
    index: GraphIndex, states: dict[str, NodeState], node_id: str, state: NodeState
) -> readiness.Settlement:
    states[node_id] = state
    found = settle(index, states, [node_id])
    for skipped in found.skipped:
        states[skipped] = NodeState("skipped")
    for ready in found.ready:
        states[ready] = NodeState("running", 1)
    return found


def test_start_dispatches_every_root_and_skips_other_triggers() -> None:
    index = graph(
        [TRIGGER, {"id": "t2", "type": "trigger.manual"}, task("a"), task("b"), task("c")],
        [("t", "a", None), ("t", "b", None), ("t2", "c", None)],
    )
    states = initial_states(index, "t")
    found = settle(index, states, index.triggers)
    assert found.ready == ["a", "b"]
    assert found.skipped == ["c"]


def test_branch_skip_propagates_and_merge_runs_after_condition() -> None:
    index = graph(
        [TRIGGER, condition("if", ["yes", "no"]), task("y1"), task("y2"), task("n1"), task("m")],
        [
            ("t", "if", None),
            ("if", "y1", "yes"),
            ("y1", "y2", None),
            ("if", "n1", "no"),
            ("y2", "m", None),
            ("n1", "m", None),
        ],
    )
    states = initial_states(index, "t")
    assert settle(index, states, index.triggers).ready == ["if"]
    states["if"] = NodeState("running", 1)
    found = finish(index, states, "if", NodeState("succeeded", 1, "no"))
    assert found.ready == ["n1"]
    assert found.skipped == ["y1", "y2"]
    found = finish(index, states, "n1", NodeState("succeeded", 1))
    assert found.ready == ["m"]
    assert readiness.active_inputs(index, "m", states) == [("n1", False)]


def test_merge_waits_for_every_predecessor() -> None:
    index = graph(
        [TRIGGER, task("a"), task("b"), task("m")],
        [("t", "a", None), ("t", "b", None), ("a", "m", None), ("b", "m", None)],
    )
    states = initial_states(index, "t")
    for node_id in settle(index, states, index.triggers).ready:
        states[node_id] = NodeState("running", 1)
    assert finish(index, states, "a", NodeState("succeeded", 1)).ready == []
    assert finish(index, states, "b", NodeState("succeeded", 1)).ready == ["m"]


def test_error_edge_takes_the_failure_and_normal_edges_are_skipped() -> None:
    index = graph(
        [TRIGGER, task("a"), task("handler"), task("next")],
        [("t", "a", None), ("a", "handler", "error"), ("a", "next", None)],
    )
    info = index.nodes["a"]
    route = failure_route(info, attempt=1, retryable=False)
    assert route == Handled("error_edge")
    states = initial_states(index, "t")
    states["a"] = NodeState("running", 1)
    found = finish(index, states, "a", readiness.failed_state(info, 1, route))
    assert found.ready == ["handler"]
    assert found.skipped == ["next"]
    assert readiness.active_inputs(index, "handler", states) == [("a", True)]


def test_error_edge_stays_inactive_when_the_node_succeeds() -> None:
    index = graph(
        [TRIGGER, task("a"), task("handler"), task("next")],
        [("t", "a", None), ("a", "handler", "error"), ("a", "next", None)],
    )
    states = initial_states(index, "t")
    states["a"] = NodeState("running", 1)
    found = finish(index, states, "a", NodeState("succeeded", 1))
    assert (found.ready, found.skipped) == (["next"], ["handler"])


def test_on_error_continue_counts_as_success_for_normal_edges() -> None:
    index = graph(
        [TRIGGER, task("a", on_error="continue"), task("next")],
        [("t", "a", None), ("a", "next", None)],
    )
    info = index.nodes["a"]
    route = failure_route(info, attempt=1, retryable=False)
    assert route == Handled("continue")
    states = initial_states(index, "t")
    states["a"] = NodeState("running", 1)
    assert finish(index, states, "a", readiness.failed_state(info, 1, route)).ready == ["next"]


def test_retry_until_attempts_run_out_then_fatal() -> None:
    index = graph(
        [TRIGGER, task("a", retry={"max_attempts": 3, "initial_delay_ms": 100})],
        [("t", "a", None)],
    )
    info = index.nodes["a"]
    assert failure_route(info, 1, retryable=True) == Retry(100)
    assert failure_route(info, 2, retryable=True) == Retry(200)
    assert failure_route(info, 3, retryable=True) == Fatal()
    assert failure_route(info, 1, retryable=False) == Fatal()


def test_cycle_and_unknown_trigger_are_refused() -> None:
    with pytest.raises(readiness.InvalidGraphError):
        initial_states(graph([TRIGGER, task("a")], [("t", "a", None)]), "a")
    with pytest.raises(readiness.InvalidGraphError):
        graph(
            [TRIGGER, task("a"), task("b")], [("t", "a", None), ("a", "b", None), ("b", "a", None)]
        )


def test_orphan_action_node_is_skipped_at_start() -> None:
    index = graph(
        [TRIGGER, task("a"), task("orphan"), task("after")],
        [("t", "a", None), ("orphan", "after", None)],
    )
    found = readiness.settle_start(index, initial_states(index, "t"))
    assert (found.ready, found.skipped) == (["a"], ["orphan", "after"])


# --- random graphs ---------------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[GraphIndex, dict[str, tuple[str, str | None]]]:
    """A random DAG (nodes in topological order) and each node's predetermined outcome."""
    count = draw(st.integers(min_value=1, max_value=12))
    ids = [f"n{i}" for i in range(count)]
    nodes: list[dict[str, Any]] = [TRIGGER, {"id": "t2", "type": "trigger.manual"}]
    branches: dict[str, list[str]] = {}
    outcomes: dict[str, tuple[str, str | None]] = {}
    for node_id in ids:
        kind = draw(st.sampled_from(["task", "task", "condition"]))
        on_error = draw(st.sampled_from(["fail", "continue"]))
        if kind == "condition":
            branches[node_id] = ["a", "b", "c"][: draw(st.integers(2, 3))]
            nodes.append(condition(node_id, branches[node_id], on_error=on_error))
        else:
            nodes.append(task(node_id, on_error=on_error))
        fails = draw(st.integers(0, 9)) == 0
        chosen = draw(st.sampled_from(branches[node_id])) if node_id in branches else None
        outcomes[node_id] = ("failed", None) if fails else ("succeeded", chosen)
    edges: list[tuple[str, str, str | None]] = []
    seen: set[tuple[str, str, str | None]] = set()
    for position, target in enumerate(ids):
        sources = ["t", "t2", *ids[:position]]
        for source in draw(st.lists(st.sampled_from(sources), max_size=3, unique=True)):
            options: list[str | None] = [*branches.get(source, [None]), "error"]
            handle = draw(st.sampled_from(options))
            if source in ("t", "t2") and handle == "error":
                handle = None
            if (source, target, handle) not in seen:
                seen.add((source, target, handle))
                edges.append((source, target, handle))
    return graph(nodes, edges), outcomes


def simulate(
    index: GraphIndex, outcomes: dict[str, tuple[str, str | None]], order_seed: int
) -> tuple[dict[str, NodeState], bool]:
    """Run the execution as the orchestrator does, finishing running nodes in a shuffled order."""
    states = initial_states(index, "t")

    def become(node_id: str, state: NodeState) -> None:
        assert not states[node_id].terminal, f"{node_id} left a terminal state"
        states[node_id] = state

    def start(found: readiness.Settlement) -> None:
        for node_id in found.skipped:
            become(node_id, NodeState("skipped"))
        for node_id in found.ready:
            for predecessor in index.graph.predecessors(node_id):
                assert states[predecessor].terminal, "started before a predecessor finished"
            become(node_id, NodeState("running", 1))
            running.append(node_id)

    running: list[str] = []
    start(readiness.settle_start(index, states))
    step = order_seed
    while running:
        step = (step * 1103515245 + 12345) % 2**31
        node_id = running.pop(step % len(running))
        status, branch = outcomes[node_id]
        info = index.nodes[node_id]
        if status == "succeeded":
            become(node_id, NodeState("succeeded", 1, branch))
        else:
            route = failure_route(info, 1, retryable=False)
            if isinstance(route, Fatal):
                become(node_id, NodeState("failed", 1))
                for other, state in list(states.items()):
                    if not state.terminal:
                        become(other, NodeState("cancelled"))
                return states, False
            assert isinstance(route, Handled)
            become(node_id, readiness.failed_state(info, 1, route))
        start(settle(index, states, [node_id]))
    return states, True


def reachable(index: GraphIndex, outcomes: dict[str, tuple[str, str | None]]) -> set[str]:
    """Independent oracle: nodes reachable from the trigger along edges their source activates."""
    seen = {"t"}
    for node_id in index.graph.topological_order() or []:
        if node_id not in seen:
            continue
        for edge in index.graph.outgoing.get(node_id, []):
            if _carries(index, node_id, edge.source_handle, outcomes):
                seen.add(edge.target)
    return seen


def _carries(
    index: GraphIndex,
    node_id: str,
    handle: str | None,
    outcomes: dict[str, tuple[str, str | None]],
) -> bool:
    if node_id == "t":
        return True
    status, branch = outcomes[node_id]
    info = index.nodes[node_id]
    if status == "failed" and info.has_error_edge:
        return handle == "error"
    if handle == "error":
        return False
    if status == "failed":  # continue
        branch = info.default_branch
    return handle == branch if info.is_condition else True


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.integers(min_value=0, max_value=2**31 - 1))
def test_random_graphs_end_in_one_terminal_state_each(
    scenario: tuple[GraphIndex, dict[str, tuple[str, str | None]]], seed: int
) -> None:
    index, outcomes = scenario
    states, succeeded = simulate(index, outcomes, seed)
    assert all(state.terminal for state in states.values())
    if not succeeded:
        return
    assert not any(state.status == "cancelled" for state in states.values())
    skipped = {node_id for node_id, state in states.items() if state.status == "skipped"}
    assert skipped == set(index.order) - reachable(index, outcomes)
