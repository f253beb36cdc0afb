"""What AI nodes spent is summed on the execution: every attempt that reported usage (in its
output, or in a failed attempt's error details), and shown by every reply that describes it."""

from __future__ import annotations

import asyncio
from typing import Any

from portico_contracts.messages import NodeError
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, runs_by_node

GRAPH = make_graph(
    [TRIGGER, {"id": "a", "retry": {"max_attempts": 2, "initial_delay_ms": 0}}, {"id": "b"}],
    [("t", "a"), ("t", "b")],
)


def _spent(input_tokens: int, output_tokens: int, cost: float) -> dict[str, Any]:
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    return {"usage": usage, "cost_usd": cost}


async def test_usage_of_every_attempt_is_summed_and_shown_on_cancel(bus: Bus) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(GRAPH, tenant)
    ready = await bus.ready_set(command.execution_id, 2)
    failed = NodeError(message="schema mismatch", retryable=True, details=_spent(10, 5, 0.25))
    await bus.answer(ready["a"], "failed", error=failed)
    again = await bus.ready(command.execution_id)
    await bus.answer(again, output={"text": "ok", **_spent(7, 3, 0.5)})
    for _ in range(200):
        execution = await bus.execution(tenant, command.execution_id)
        if runs_by_node(execution)["a"]["status"] == "succeeded":
            break
        await asyncio.sleep(0.02)
    # The execution row and its node runs are read by two statements: read it once more, now
    # that the transaction that recorded the success is known to have committed.
    execution = await bus.execution(tenant, command.execution_id)

    expected = {"input_tokens": 17, "output_tokens": 8, "total_tokens": 25}
    assert execution["usage"] == expected
    assert execution["cost_usd"] == 0.75
    cancelled = await bus.rpc(
        {"op": "cancel_execution", "tenant_id": tenant, "execution_id": command.execution_id}
    )
    assert cancelled.result is not None
    assert (cancelled.result["usage"], cancelled.result["cost_usd"]) == (expected, 0.75)
    listed = await bus.rpc({"op": "list_executions", "tenant_id": tenant})
    assert listed.result is not None
    assert listed.result["items"][0]["usage"] == expected


async def test_a_duplicate_result_is_not_counted_twice(bus: Bus) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(GRAPH, tenant)
    ready = await bus.ready_set(command.execution_id, 2)
    result = await bus.answer(ready["b"], output=_spent(4, 4, 0.1))
    await bus.send_result(result)  # redelivered: the same attempt's answer again
    await bus.answer(ready["a"], output="no model here")
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["usage"]["total_tokens"] == 8
    assert execution["cost_usd"] == 0.1
