"""Concurrency limits: executions over a workflow's or a tenant's limit wait as `queued`."""

from __future__ import annotations

from dataclasses import replace

from portico_contracts.graph import WorkflowGraph
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import (
    TRIGGER,
    Bus,
    make_graph,
    new_id,
    replay,
    start_command,
    start_on,
)


def limited(limit: int | None) -> WorkflowGraph:
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    return graph.model_copy(
        update={"settings": graph.settings.model_copy(update={"max_concurrency": limit})}
    )


async def test_a_workflow_limit_queues_the_excess_and_admits_it_in_order(bus: Bus) -> None:
    tenant = new_id("tenant")
    graph = limited(2)
    started = [(await bus.start(graph, tenant, workflow_id="wf-limited"))[0] for _ in range(4)]
    replies = [await bus.execution(tenant, c.execution_id) for c in started]
    assert [r["status"] for r in replies] == ["running", "running", "queued", "queued"]
    first, second = [await bus.ready(c.execution_id) for c in started[:2]]
    await bus.nothing_ready(started[2].execution_id, within=0.2)
    events = await replay(bus, tenant, started[2].execution_id)
    assert [e["type"] for e in events] == ["execution.queued"]

    # Another workflow of the same tenant is not held up by this one's limit.
    other, _ = await bus.start(limited(None), tenant, workflow_id="wf-free")
    await bus.answer(await bus.ready(other.execution_id))

    await bus.answer(first)  # a place comes free: the oldest queued one starts
    third = await bus.ready(started[2].execution_id)
    await bus.nothing_ready(started[3].execution_id, within=0.2)
    await bus.answer(second)
    fourth = await bus.ready(started[3].execution_id)
    for ready in (third, fourth):
        await bus.answer(ready)
    for command in started:
        assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
    events = await replay(bus, tenant, started[3].execution_id)
    assert [e["type"] for e in events][:3] == [
        "execution.queued",
        "execution.started",
        "node.succeeded",
    ]


async def test_a_tenant_limit_holds_every_workflow_of_the_tenant(
    bus: Bus, orchestrator: Running
) -> None:
    service = orchestrator.instance.service
    saved = service.limits
    service.limits = replace(saved, tenant_max_running=1)
    try:
        tenant, neighbour = new_id("tenant"), new_id("tenant")
        instance = orchestrator.instance
        one = start_command(limited(None), tenant, workflow_id="wf-1")
        two = start_command(limited(None), tenant, workflow_id="wf-2")
        theirs = start_command(limited(None), neighbour, workflow_id="wf-1")
        assert [(await start_on(instance, c))[0] for c in (one, two, theirs)] == [
            "running",
            "queued",
            "running",
        ]
        await bus.answer(await bus.ready(theirs.execution_id))  # other tenants run freely
        cancelled = await bus.rpc(
            {"op": "cancel_execution", "tenant_id": tenant, "execution_id": one.execution_id}
        )
        assert cancelled.result is not None
        assert cancelled.result["status"] == "cancelled"
        await bus.answer(await bus.ready(two.execution_id))
        assert (await bus.finished(tenant, two.execution_id))["status"] == "succeeded"
    finally:
        service.limits = saved


async def test_a_queued_execution_that_missed_its_moment_is_admitted_by_the_sweep(
    bus: Bus, orchestrator: Running
) -> None:
    instance = orchestrator.instance
    service = instance.service
    saved = service.limits
    service.limits = replace(saved, tenant_max_running=1)
    tenant = new_id("tenant")
    try:
        one, two = (start_command(limited(None), tenant) for _ in range(2))
        assert (await start_on(instance, one))[0] == "running"
        assert (await start_on(instance, two))[0] == "queued"
    finally:
        service.limits = saved
    await instance.watchdog.sweep()  # the limit is higher now: the sweep lets it in
    await bus.ready(two.execution_id)
    await bus.ready(one.execution_id)
