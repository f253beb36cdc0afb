"""Durable timers: retry delays and suspended waits, across a restart too."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from portico_contracts.messages import NodeError
from portico_orchestrator.cache import ExecutionCache
from portico_orchestrator.readiness import Retry
from portico_orchestrator.service import ExecutionService
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, replay, runs_by_node

FLAKY = NodeError(message="503 from upstream", type="HttpError", retryable=True)


async def pending_timers(infra: Any, execution_id: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    try:
        return await connection.fetch(
            "SELECT node_id, kind, attempt, due_at FROM orchestrator.timers"
            " WHERE execution_id = $1",
            execution_id,
        )
    finally:
        await connection.close()


async def test_retryable_failure_is_retried_after_its_delay(bus: Bus, infra: Any) -> None:
    tenant = new_id("tenant")
    retry = {"max_attempts": 3, "initial_delay_ms": 100, "multiplier": 2}
    graph = make_graph([TRIGGER, {"id": "a", "retry": retry}], [("t", "a")])
    command, _ = await bus.start(graph, tenant)
    first = await bus.ready(command.execution_id)
    failed_at = time.monotonic()
    await bus.answer(first, "failed", error=FLAKY)
    second = await bus.ready(command.execution_id)
    assert second.attempt == 2
    assert time.monotonic() - failed_at >= 0.075  # 100 ms, less at most 25 % jitter
    failed_at = time.monotonic()
    await bus.answer(second, "failed", error=FLAKY)
    third = await bus.ready(command.execution_id)
    assert third.attempt == 3
    assert time.monotonic() - failed_at >= 0.15
    await bus.answer(first, output="late answer to attempt 1")  # ignored
    await bus.answer(third, output="ok")
    execution = await bus.finished(tenant, command.execution_id)
    run = runs_by_node(execution)["a"]
    assert (run["status"], run["attempt"], run["output"]) == ("succeeded", 3, "ok")
    events = await replay(bus, tenant, command.execution_id)
    retrying = [e for e in events if e["type"] == "node.retrying"]
    assert [e["attempt"] for e in retrying] == [1, 2]
    assert await pending_timers(infra, command.execution_id) == []


async def test_a_retry_after_asked_for_by_the_remote_service_is_honoured(bus: Bus) -> None:
    tenant = new_id("tenant")
    retry = {"max_attempts": 2, "initial_delay_ms": 10}
    command, _ = await bus.start(
        make_graph([TRIGGER, {"id": "a", "retry": retry}], [("t", "a")]), tenant
    )
    first = await bus.ready(command.execution_id)
    failed_at = time.monotonic()
    busy = FLAKY.model_copy(update={"details": {"retry_after_s": 0.8}})
    await bus.answer(first, "failed", error=busy)
    second = await bus.ready(command.execution_id)
    assert second.attempt == 2
    assert time.monotonic() - failed_at >= 0.8
    await bus.answer(second, output="ok")
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"


def test_retry_delays_are_jittered_around_the_policy() -> None:
    service = ExecutionService(ExecutionCache(10, 0), rng=random.Random(7))
    error = NodeError(message="busy", retryable=True)
    delays = {service._retry_delay_ms(Retry(1000), error) for _ in range(50)}
    assert len(delays) > 40
    assert all(750 <= delay <= 1250 for delay in delays)


async def test_retries_run_out_then_the_execution_fails(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "a", "retry": {"max_attempts": 2, "initial_delay_ms": 10}}],
        [("t", "a")],
    )
    command, _ = await bus.start(graph, tenant)
    await bus.answer(await bus.ready(command.execution_id), "failed", error=FLAKY)
    await bus.answer(await bus.ready(command.execution_id), "failed", error=FLAKY)
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "failed"
    run = runs_by_node(execution)["a"]
    assert (run["status"], run["attempt"], run["error"]["retryable"]) == ("failed", 2, True)


async def test_a_restart_neither_loses_nor_shortens_a_retry_delay(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "a", "retry": {"max_attempts": 2, "initial_delay_ms": 1500}}],
        [("t", "a")],
    )
    command, _ = await bus.start(graph, tenant)
    await bus.answer(await bus.ready(command.execution_id), "failed", error=FLAKY)
    for _ in range(100):
        timers = await pending_timers(infra, command.execution_id)
        if timers:
            break
    assert [(t["node_id"], t["kind"], t["attempt"]) for t in timers] == [("a", "retry", 2)]
    due: datetime = timers[0]["due_at"]
    await orchestrator.restart(pause=0.3)
    retried = await bus.ready(command.execution_id, wait_s=10)
    assert retried.attempt == 2
    assert datetime.now(UTC) >= due
    await bus.answer(retried)
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"


async def test_suspended_node_is_dispatched_again_with_the_same_attempt(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "pause", "type": "test.wait"}], [("t", "pause")])
    command, _ = await bus.start(graph, tenant)
    first = await bus.ready(command.execution_id)
    resume_at = datetime.now(UTC) + timedelta(milliseconds=300)
    suspended = await bus.answer(first, "suspended", resume_at=resume_at)
    await bus.send_result(suspended)  # a duplicate must not double the wait or the dispatch
    await bus.nothing_ready(command.execution_id, within=0.15)
    again = await bus.ready(command.execution_id)
    assert datetime.now(UTC) >= resume_at
    assert again.attempt == 1
    assert again.dispatched_at == first.dispatched_at  # the wait measures from its first start
    await bus.nothing_ready(command.execution_id, within=0.3)
    await bus.answer(again, output={"waited": True})
    execution = await bus.finished(tenant, command.execution_id)
    run = runs_by_node(execution)["pause"]
    assert (run["status"], run["attempt"]) == ("succeeded", 1)
    # The run is timed from when the wait began, not from when it resumed.
    started_at = datetime.fromisoformat(run["started_at"])
    assert started_at == first.dispatched_at
    assert datetime.fromisoformat(run["finished_at"]) - started_at >= timedelta(milliseconds=300)


async def test_a_cancelled_execution_discards_its_timer(bus: Bus, infra: Any) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "pause", "type": "test.wait"}], [("t", "pause")])
    command, _ = await bus.start(graph, tenant)
    first = await bus.ready(command.execution_id)
    await bus.answer(first, "suspended", resume_at=datetime.now(UTC) + timedelta(milliseconds=200))
    for _ in range(100):
        if await pending_timers(infra, command.execution_id):
            break
    reply = await bus.rpc(
        {"op": "cancel_execution", "tenant_id": tenant, "execution_id": command.execution_id}
    )
    assert reply.result is not None
    assert reply.result["status"] == "cancelled"
    await bus.nothing_ready(command.execution_id, within=0.5)
    assert await pending_timers(infra, command.execution_id) == []
