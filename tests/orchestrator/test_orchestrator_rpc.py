"""The RPC surface: queries filtered by tenant, keyset pages, cancel, and bad requests."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine

from portico_contracts.messages import CancelExecution
from portico_contracts.queries import LatestExecutions
from portico_contracts.topology import COMMANDS_EXCHANGE, EXECUTION_CANCEL
from portico_orchestrator.views import latest_executions_statement
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, replay, runs_by_node

TWO_STEPS = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("t", "b")])


async def test_cancel_by_rpc_cancels_every_unfinished_node(bus: Bus) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(TWO_STEPS, tenant)
    ready = await bus.ready_set(command.execution_id, 2)
    await bus.answer(ready["a"], output="done")
    for _ in range(100):
        runs = runs_by_node(await bus.execution(tenant, command.execution_id))
        if runs["a"]["status"] == "succeeded":
            break
        await asyncio.sleep(0.02)
    reply = await bus.rpc(
        {"op": "cancel_execution", "tenant_id": tenant, "execution_id": command.execution_id}
    )
    assert reply.result is not None
    assert reply.result["status"] == "cancelled"
    await bus.answer(ready["b"], output="too late")
    again = await bus.rpc(
        {"op": "cancel_execution", "tenant_id": tenant, "execution_id": command.execution_id}
    )
    assert again.result == reply.result  # already terminal: unchanged
    execution = await bus.execution(tenant, command.execution_id)
    runs = runs_by_node(execution)
    assert (runs["a"]["status"], runs["b"]["status"]) == ("succeeded", "cancelled")
    events = await replay(bus, tenant, command.execution_id)
    assert events[-1]["type"] == "execution.cancelled"
    assert execution["last_seq"] == len(events)


async def test_cancel_command_and_other_tenants(bus: Bus) -> None:
    tenant, stranger = new_id("tenant"), new_id("tenant")
    command, _ = await bus.start(TWO_STEPS, tenant)
    await bus.ready_set(command.execution_id, 2)
    for op in ("get_execution", "events_since", "cancel_execution"):
        reply = await bus.rpc(
            {"op": op, "tenant_id": stranger, "execution_id": command.execution_id}
        )
        assert reply.result is None
        assert reply.error is not None
        assert reply.error.code == "not_found", op
    listing = await bus.rpc({"op": "list_executions", "tenant_id": stranger})
    assert listing.result == {"items": [], "next_cursor": None}
    assert (await bus.execution(tenant, command.execution_id))["status"] == "running"

    cancel = CancelExecution(tenant_id=tenant, execution_id=command.execution_id, reason="enough")
    await bus.publish(
        COMMANDS_EXCHANGE.name,
        EXECUTION_CANCEL,
        cancel.model_dump_json().encode(),
        content_type="application/json",
    )
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "cancelled"
    assert execution["error"]["message"] == "enough"


async def test_list_executions_pages_newest_first_with_filters(bus: Bus) -> None:
    tenant = new_id("tenant")
    only_trigger = make_graph([TRIGGER], [])
    started = []
    for index in range(5):
        workflow = "wf-even" if index % 2 == 0 else "wf-odd"
        graph = only_trigger if index < 4 else TWO_STEPS
        command, reply = await bus.start(graph, tenant, workflow_id=workflow)
        started.append(command.execution_id)
        if index < 4:
            assert reply.result is not None
            assert reply.result["status"] == "succeeded"
    newest_first = list(reversed(started))

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = {"op": "list_executions", "tenant_id": tenant, "limit": 2, "cursor": cursor}
        page = (await bus.rpc(query)).result
        assert page is not None
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    assert cursor is None

    even = await bus.rpc({"op": "list_executions", "tenant_id": tenant, "workflow_id": "wf-even"})
    assert even.result is not None
    assert [i["id"] for i in even.result["items"]] == newest_first[::2]
    running = await bus.rpc({"op": "list_executions", "tenant_id": tenant, "status": "running"})
    assert running.result is not None
    assert [i["id"] for i in running.result["items"]] == [started[4]]


async def test_latest_executions_gives_each_workflows_newest_run(bus: Bus) -> None:
    tenant, stranger = new_id("tenant"), new_id("tenant")
    only_trigger = make_graph([TRIGGER], [])
    newest: dict[str, str] = {}
    for workflow in ("wf-a", "wf-b", "wf-a", "wf-b", "wf-a"):
        command, _ = await bus.start(only_trigger, tenant, workflow_id=workflow)
        newest[workflow] = command.execution_id
    running, _ = await bus.start(TWO_STEPS, tenant, workflow_id="wf-c")
    await bus.start(only_trigger, stranger, workflow_id="wf-a")  # another tenant's: not seen

    wanted = ["wf-a", "wf-b", "wf-c", "wf-never-run", "wf-a"]
    reply = await bus.rpc({"op": "latest_executions", "tenant_id": tenant, "workflow_ids": wanted})
    assert reply.error is None, reply
    assert reply.result is not None
    found = {item["workflow_id"]: item for item in reply.result["items"]}
    assert set(found) == {"wf-a", "wf-b", "wf-c"}
    assert found["wf-a"]["id"] == newest["wf-a"]
    assert found["wf-b"]["id"] == newest["wf-b"]
    assert found["wf-a"]["status"] == "succeeded"
    assert found["wf-a"]["finished_at"] is not None
    assert (found["wf-c"]["id"], found["wf-c"]["status"]) == (running.execution_id, "running")
    assert found["wf-c"]["finished_at"] is None
    assert set(found["wf-a"]) == {
        "workflow_id", "id", "status", "created_at", "started_at", "finished_at"
    }  # fmt: skip

    none = await bus.rpc({"op": "latest_executions", "tenant_id": tenant, "workflow_ids": []})
    assert none.result == {"items": []}
    too_many = {"op": "latest_executions", "tenant_id": tenant, "workflow_ids": ["w"] * 501}
    refused = await bus.rpc(too_many)
    assert refused.error is not None
    assert refused.error.code == "invalid_request"


async def test_latest_executions_reads_one_index_probe_per_workflow(infra: Any) -> None:
    """One statement, walking `ix_executions_tenant_workflow` backwards: never a sort of
    every execution of the tenant, however many there are."""
    query = LatestExecutions(tenant_id="t", workflow_ids=["wf-a", "wf-b"])
    sql = str(
        latest_executions_statement(query).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    engine = create_async_engine(infra.database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(row[0] for row in await conn.execute(sa.text(f"EXPLAIN {sql}")))
    finally:
        await engine.dispose()
    assert "Index Scan Backward using ix_executions_tenant_workflow" in plan, plan
    assert "Sort" not in plan, plan


async def test_invalid_requests_get_an_error_reply(bus: Bus) -> None:
    for body in (
        b"not json at all",
        {"op": "drop_tables", "tenant_id": "t"},
        {"op": "get_execution", "execution_id": "x"},
        {"op": "list_executions", "tenant_id": "t", "limit": 0},
        {"op": "list_executions", "tenant_id": "t", "cursor": "definitely-not-a-cursor"},
    ):
        reply = await bus.rpc(body)
        assert reply.result is None, body
        assert reply.error is not None
        assert reply.error.code == "invalid_request", (body, reply)
    missing = await bus.rpc({"op": "get_execution", "tenant_id": "t", "execution_id": "nope"})
    assert missing.error is not None
    assert missing.error.code == "not_found"
