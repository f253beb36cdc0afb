"""Retrying an execution: what succeeded is taken over, the rest runs again."""

from __future__ import annotations

from portico_contracts.messages import NodeError
from portico_contracts.queries import RetryExecutionRequest
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, replay, runs_by_node

BROKEN = NodeError(message="upstream said no", type="HttpError")


async def test_a_retry_reuses_what_succeeded_and_reruns_from_the_failure(bus: Bus) -> None:
    tenant = new_id("tenant")
    # t → a → b → d, and t → c: b fails, so d never runs; a and c succeeded.
    graph = make_graph(
        [TRIGGER, {"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}],
        [("t", "a"), ("a", "b"), ("b", "d"), ("t", "c")],
    )
    original, _ = await bus.start(graph, tenant, payload={"n": 1})
    first = await bus.ready_set(original.execution_id, 2)
    await bus.answer(first["a"], output={"from": "a"})
    await bus.answer(first["c"], output={"from": "c"})
    await bus.answer(await bus.ready(original.execution_id), "failed", error=BROKEN)
    assert (await bus.finished(tenant, original.execution_id))["status"] == "failed"

    request = RetryExecutionRequest(
        tenant_id=tenant, execution_id=original.execution_id, new_execution_id=new_id("ex")
    )
    reply = await bus.rpc(request)
    assert reply.error is None, reply
    assert reply.result is not None
    assert reply.result["retry_of"] == original.execution_id
    retried_id = request.new_execution_id
    assert (await bus.rpc(request)).result == reply.result  # asking twice starts it once

    b = await bus.ready(retried_id)
    assert (b.node_id, b.attempt) == ("b", 1)
    assert b.nodes["a"] == {"output": {"from": "a"}}
    assert b.trigger == {"n": 1}
    await bus.answer(b, output="fixed")
    d = await bus.ready(retried_id)
    assert d.node_id == "d"
    await bus.answer(d)
    execution = await bus.finished(tenant, retried_id)
    assert execution["status"] == "succeeded"
    assert execution["retry_of"] == original.execution_id
    runs = runs_by_node(execution)
    assert runs["a"]["output"] == {"from": "a"}
    assert runs["c"]["output"] == {"from": "c"}
    events = await replay(bus, tenant, retried_id)
    running = [e["node_id"] for e in events if e["type"] == "node.running"]
    assert running == ["b", "d"]
    await bus.nothing_ready(retried_id, within=0.2)
    assert (await bus.execution(tenant, original.execution_id))["status"] == "failed"


async def test_only_failed_or_cancelled_executions_of_the_caller_can_be_retried(
    bus: Bus,
) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(make_graph([TRIGGER, {"id": "a"}], [("t", "a")]), tenant)
    ready = await bus.ready(command.execution_id)

    async def retry(who: str, execution_id: str) -> tuple[str | None, str]:
        request = RetryExecutionRequest(
            tenant_id=who, execution_id=execution_id, new_execution_id=new_id("ex")
        )
        reply = await bus.rpc(request)
        return (reply.error.code, reply.error.message) if reply.error else (None, "")

    code, message = await retry(tenant, command.execution_id)
    assert code == "conflict"
    assert "only failed or cancelled" in message
    assert (await retry(new_id("tenant"), command.execution_id))[0] == "not_found"
    assert (await retry(tenant, new_id("missing")))[0] == "not_found"
    await bus.answer(ready)
    await bus.finished(tenant, command.execution_id)
    assert (await retry(tenant, command.execution_id))[0] == "conflict"
