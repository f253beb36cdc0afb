"""Executions end to end through a real PostgreSQL and RabbitMQ, the test playing executor."""

from __future__ import annotations

import asyncio
from datetime import datetime

from portico_contracts.messages import NodeError, NodeResult, utcnow
from portico_orchestrator.step import STATUS_BATCH_MAX_CHARS
from tests.orchestrator.harness import (
    TRIGGER,
    Bus,
    make_graph,
    new_id,
    published_seqs,
    replay,
    runs_by_node,
)

CONDITION = {
    "id": "if",
    "type": "condition",
    "config": {
        "rules": [
            {"value": "{{ trigger.route }}", "operator": "eq", "compare_to": "a", "branch": "a"}
        ],
        "default_branch": "b",
    },
}


async def test_each_transaction_publishes_its_status_events_as_one_message(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    command, _ = await bus.start(graph, tenant, payload={"k": 1})
    await bus.answer(await bus.ready(command.execution_id), output={"a": "\u0000"})
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
    await published_seqs(bus, command.execution_id, 5)

    # The start (execution.started, node.succeeded, node.running), then the result
    # (node.succeeded, execution.succeeded): one message each, its events in seq order.
    assert bus.status_messages[command.execution_id] == [[1, 2, 3], [4, 5]]
    # Every event, live, is the event a replay returns (a NUL made jsonb-safe in both).
    events = await replay(bus, tenant, command.execution_id)
    live = [event.model_dump(mode="json") for event in bus.events[command.execution_id]]
    assert live == events
    assert live[3]["output"] == {"a": "\ufffd"}


async def test_status_events_too_big_together_go_out_in_several_messages(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    command, _ = await bus.start(graph, tenant)
    big = "x" * (STATUS_BATCH_MAX_CHARS + 1)
    await bus.answer(await bus.ready(command.execution_id), output=big)
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
    await published_seqs(bus, command.execution_id, 5)
    # node.succeeded carries the big output alone; execution.succeeded follows on its own.
    assert bus.status_messages[command.execution_id] == [[1, 2, 3], [4], [5]]
    assert bus.events[command.execution_id][3].output == big


async def test_chain_runs_in_order_and_records_everything(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b")])
    command, reply = await bus.start(graph, tenant, payload={"k": 1})
    assert reply.error is None
    assert reply.result is not None
    assert reply.result["id"] == command.execution_id
    assert reply.result["status"] == "running"

    a = await bus.ready(command.execution_id)
    assert (a.node_id, a.node_type, a.attempt) == ("a", "test.task", 1)
    assert (a.trigger, a.inputs, a.nodes) == (
        {"k": 1},
        {"t": {"k": 1}},
        {"t": {"output": {"k": 1}}},
    )
    assert a.execution.id == command.execution_id
    await bus.answer(a, output={"a": 1})
    b = await bus.ready(command.execution_id)
    assert b.nodes == {"t": {"output": {"k": 1}}, "a": {"output": {"a": 1}}}
    assert b.inputs == {"a": {"a": 1}}
    result = await bus.answer(b, output={"b": 2})

    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "succeeded"
    assert execution["payload"] == {"k": 1}
    runs = runs_by_node(execution)
    assert list(runs) == ["t", "a", "b"]
    assert runs["t"]["output"] == {"k": 1}
    assert runs["b"]["output"] == {"b": 2}
    assert runs["b"]["input"] == {"a": {"a": 1}}
    # The executor's own timings are recorded, not the orchestrator's.
    assert datetime.fromisoformat(runs["b"]["finished_at"]) == result.finished_at
    assert all(run["status"] == "succeeded" and run["attempt"] == 1 for run in runs.values())

    events = await replay(bus, tenant, command.execution_id)
    assert [e["type"] for e in events] == [
        "execution.started",
        "node.succeeded",
        "node.running",
        "node.succeeded",
        "node.running",
        "node.succeeded",
        "execution.succeeded",
    ]
    assert await published_seqs(bus, command.execution_id, len(events)) == set(
        range(1, len(events) + 1)
    )


async def test_duplicate_start_changes_nothing(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    command, first = await bus.start(graph, tenant, payload={"n": 1})
    _, again = await bus.start(graph, tenant, payload={"n": 2}, execution_id=command.execution_id)
    assert again.result == first.result
    await bus.ready(command.execution_id)
    await bus.nothing_ready(command.execution_id)
    assert (await bus.execution(tenant, command.execution_id))["payload"] == {"n": 1}


async def test_parallel_branches_are_dispatched_together_and_merge(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "join", "type": "test.merge"}],
        [("t", "a"), ("t", "b"), ("t", "c"), ("a", "join"), ("b", "join"), ("c", "join")],
    )
    command, _ = await bus.start(graph, tenant)
    ready = await bus.ready_set(command.execution_id, 3)
    assert set(ready) == {"a", "b", "c"}
    await asyncio.gather(*(bus.answer(r, output=r.node_id) for r in ready.values()))
    join = await bus.ready(command.execution_id)
    assert join.node_id == "join"
    assert join.inputs == {"a": "a", "b": "b", "c": "c"}
    await bus.answer(join, output=join.inputs)
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "succeeded"
    await replay(bus, tenant, command.execution_id)


async def test_condition_skips_the_other_branch_and_merge_takes_one_input(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, CONDITION, {"id": "ya"}, {"id": "yb"}, {"id": "nb"}, {"id": "join"}],
        [
            ("t", "if"),
            ("if", "ya", "a"),
            ("ya", "yb"),
            ("if", "nb", "b"),
            ("yb", "join"),
            ("nb", "join"),
        ],
    )
    command, _ = await bus.start(graph, tenant, payload={"route": "b"})
    condition = await bus.ready(command.execution_id)
    assert condition.config == CONDITION["config"]  # raw, unrendered
    await bus.answer(condition, output={"branch": "b"}, branch="b")
    nb = await bus.ready(command.execution_id)
    assert nb.node_id == "nb"
    await bus.answer(nb, output="no")
    join = await bus.ready(command.execution_id)
    assert join.inputs == {"nb": "no"}
    await bus.answer(join, output=1)
    runs = runs_by_node(await bus.finished(tenant, command.execution_id))
    assert runs["ya"]["status"] == runs["yb"]["status"] == "skipped"
    assert runs["join"]["status"] == "succeeded"


async def test_duplicate_and_late_results_are_ignored(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b")])
    command, _ = await bus.start(graph, tenant)
    a = await bus.ready(command.execution_id)
    first = await bus.answer(a, output="first")
    await bus.send_result(first)  # redelivered: the very same message
    await bus.answer(a, output="second")  # a second answer to the same attempt
    await bus.answer(a, output="late", attempt=7)  # an attempt that never was
    b = await bus.ready(command.execution_id)
    await bus.nothing_ready(command.execution_id)
    await bus.answer(b)
    execution = await bus.finished(tenant, command.execution_id)
    assert runs_by_node(execution)["a"]["output"] == "first"
    events = await replay(bus, tenant, command.execution_id)
    assert sum(e["type"] == "node.succeeded" and e["node_id"] == "a" for e in events) == 1


async def test_error_edge_carries_the_error_and_normal_edges_are_skipped(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "a"}, {"id": "handler"}, {"id": "next"}],
        [("t", "a"), ("a", "handler", "error"), ("a", "next")],
    )
    command, _ = await bus.start(graph, tenant)
    a = await bus.ready(command.execution_id)
    await bus.answer(a, "failed", error=NodeError(message="boom", type="HttpError"))
    handler = await bus.ready(command.execution_id)
    assert handler.node_id == "handler"
    assert handler.inputs["a"]["message"] == "boom"
    assert handler.nodes["a"]["error"]["type"] == "HttpError"
    await bus.answer(handler)
    execution = await bus.finished(tenant, command.execution_id)
    runs = runs_by_node(execution)
    assert execution["status"] == "succeeded"
    assert runs["a"]["status"] == "failed"
    assert runs["a"]["error"] == {
        "message": "boom",
        "type": "HttpError",
        "retryable": False,
        "details": None,
    }
    assert runs["next"]["status"] == "skipped"


async def test_on_error_continue_passes_the_error_as_output(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "a", "on_error": "continue"}, {"id": "b"}], [("t", "a"), ("a", "b")]
    )
    command, _ = await bus.start(graph, tenant)
    a = await bus.ready(command.execution_id)
    await bus.answer(a, "failed", error=NodeError(message="nope", type="TemplateError"))
    b = await bus.ready(command.execution_id)
    assert b.inputs["a"]["type"] == "TemplateError"
    assert b.nodes["a"]["output"]["message"] == "nope"
    await bus.answer(b)
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "succeeded"
    assert runs_by_node(execution)["a"]["status"] == "failed"


async def test_unhandled_failure_fails_the_execution_and_cancels_the_rest(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "bad"}, {"id": "never"}, {"id": "slow"}],
        [("t", "bad"), ("bad", "never"), ("t", "slow")],
    )
    command, _ = await bus.start(graph, tenant)
    ready = await bus.ready_set(command.execution_id, 2)
    await bus.answer(ready["bad"], "failed", error=NodeError(message="broken"))
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "failed"
    assert execution["error"]["message"] == "broken"
    assert execution["error"]["details"] == {"node_id": "bad"}
    runs = runs_by_node(execution)
    assert (runs["bad"]["status"], runs["never"]["status"], runs["slow"]["status"]) == (
        "failed",
        "cancelled",
        "cancelled",
    )
    await bus.answer(ready["slow"], output="too late")
    await asyncio.sleep(0.2)
    assert runs_by_node(await bus.execution(tenant, command.execution_id))["slow"]["status"] == (
        "cancelled"
    )
    events = await replay(bus, tenant, command.execution_id)
    assert events[-1]["type"] == "execution.failed"


async def test_an_output_with_a_nul_character_is_stored(bus: Bus) -> None:
    """jsonb refuses \\u0000; the orchestrator must not wedge on such an output."""
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    command, _ = await bus.start(graph, tenant)
    await bus.answer(await bus.ready(command.execution_id), output={"raw": "a\x00b"})
    execution = await bus.finished(tenant, command.execution_id)
    assert runs_by_node(execution)["a"]["output"] == {"raw": "a\ufffdb"}


async def test_the_rendered_config_an_executor_reports_is_the_recorded_input(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a", "config": {"x": "{{ trigger.v }}"}}], [("t", "a")])
    command, _ = await bus.start(graph, tenant, payload={"v": 5})
    a = await bus.ready(command.execution_id)
    assert a.config == {"x": "{{ trigger.v }}"}
    await bus.answer(a, output=1, input={"x": 5})
    execution = await bus.finished(tenant, command.execution_id)
    assert runs_by_node(execution)["a"]["input"] == {"x": 5}


async def test_trace_context_goes_along_to_the_next_node(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b")])
    command, _ = await bus.start(graph, tenant)
    await bus.ready(command.execution_id)
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    done = NodeResult(
        tenant_id=tenant,
        execution_id=command.execution_id,
        node_id="a",
        attempt=1,
        status="succeeded",
        started_at=utcnow(),
        finished_at=utcnow(),
    )
    await bus.send_result(done, headers={"traceparent": traceparent})
    b = await bus.ready(command.execution_id)
    assert bus.ready_headers[b.message_id]["traceparent"] == traceparent
