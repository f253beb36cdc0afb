"""The trigger registry: activation, replacement by a newer version, deactivation."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import WorkflowActivated, WorkflowDeactivated
from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    DEAD_LETTER_REASON_HEADER,
    WORKFLOW_ACTIVATED,
    WORKFLOW_DEACTIVATED,
)
from portico_contracts.triggers import CronTriggerConfig
from portico_orchestrator.schedules import latest_slot_before, plan
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import Bus, make_graph, new_id


def cron_graph(expression: str, misfire: str = "skip", node_id: str = "c") -> WorkflowGraph:
    config = {"expression": expression, "misfire": misfire}
    return make_graph(
        [{"id": node_id, "type": "trigger.cron", "config": config}, {"id": "a"}],
        [(node_id, "a")],
    )


def event_graph(pattern: str) -> WorkflowGraph:
    return make_graph(
        [{"id": "e", "type": "trigger.event", "config": {"pattern": pattern}}, {"id": "a"}],
        [("e", "a")],
    )


async def send(
    bus: Bus, routing_key: str, command: WorkflowActivated | WorkflowDeactivated
) -> None:
    await bus.publish(
        COMMANDS_EXCHANGE.name,
        routing_key,
        command.model_dump_json().encode(),
        message_id=command.message_id,
        content_type="application/json",
    )


# Like the gateway's count of activation changes: each message newer than every one before.
_SEQUENCE = itertools.count(1)


async def activate(
    bus: Bus,
    tenant: str,
    workflow_id: str,
    graph: WorkflowGraph,
    version: int = 1,
    sequence: int | None = None,
) -> int:
    """Send an activation; returns its sequence, so a test can send it again late."""
    command = WorkflowActivated(
        sequence=sequence or next(_SEQUENCE),
        tenant_id=tenant,
        workflow_id=workflow_id,
        workflow_version=version,
        graph=graph,
    )
    await send(bus, WORKFLOW_ACTIVATED, command)
    return command.sequence


async def deactivate(bus: Bus, tenant: str, workflow_id: str) -> None:
    command = WorkflowDeactivated(
        sequence=next(_SEQUENCE), tenant_id=tenant, workflow_id=workflow_id
    )
    await send(bus, WORKFLOW_DEACTIVATED, command)


async def query(infra: Any, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def trigger_rows(infra: Any, workflow_id: str) -> list[asyncpg.Record]:
    return await query(
        infra,
        "SELECT node_id, kind, workflow_version, config, next_fire_at, tenant_id"
        " FROM orchestrator.triggers WHERE workflow_id = $1 ORDER BY node_id",
        workflow_id,
    )


async def wait_for_rows(
    infra: Any, workflow_id: str, check: Any, wait_s: float = 5
) -> list[asyncpg.Record]:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        rows = await trigger_rows(infra, workflow_id)
        if check(rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, rows
        await asyncio.sleep(0.05)


async def executions_of(infra: Any, workflow_id: str) -> list[asyncpg.Record]:
    return await query(
        infra,
        "SELECT id, tenant_id, mode, trigger_node_id, payload FROM orchestrator.executions"
        " WHERE workflow_id = $1 ORDER BY created_at",
        workflow_id,
    )


def payload_of(row: asyncpg.Record) -> Any:
    return json.loads(row["payload"])


async def test_activation_registers_and_deactivation_removes(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    graph = make_graph(
        [
            {"id": "c", "type": "trigger.cron", "config": {"expression": "0 * * * *"}},
            {"id": "e", "type": "trigger.event", "config": {"pattern": "orders.*"}},
            {"id": "h", "type": "trigger.webhook", "config": {"path": "orders"}},
            {"id": "a"},
        ],
        [("c", "a"), ("e", "a"), ("h", "a")],
    )
    before = datetime.now(UTC)
    await activate(bus, tenant, workflow_id, graph)
    rows = await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 3)
    assert [(r["node_id"], r["kind"], r["tenant_id"]) for r in rows] == [
        ("c", "cron", tenant),
        ("e", "event", tenant),
        ("h", "webhook", tenant),
    ]
    next_fire = rows[0]["next_fire_at"]
    assert before < next_fire <= before + timedelta(hours=1)
    assert next_fire.minute == 0
    assert next_fire.second == 0
    assert rows[1]["next_fire_at"] is None

    await deactivate(bus, tenant, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows == [])


async def test_newer_change_replaces_and_late_older_one_does_not(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    await activate(bus, tenant, workflow_id, cron_graph("0 * * * *", node_id="old"), version=1)
    await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 1)
    late = next(_SEQUENCE)  # version 2's activation, sent before version 3's but delayed
    newest = await activate(
        bus, tenant, workflow_id, cron_graph("0 0 * * *", node_id="new"), version=3
    )
    rows = await wait_for_rows(
        infra, workflow_id, lambda rows: rows and rows[0]["node_id"] == "new"
    )
    assert [(r["node_id"], r["workflow_version"]) for r in rows] == [("new", 3)]

    # Version 2 arrives late, then version 3 is redelivered: neither changes anything.
    late_graph = cron_graph("* * * * *", node_id="late")
    await activate(bus, tenant, workflow_id, late_graph, version=2, sequence=late)
    new_graph = cron_graph("0 0 * * *", node_id="new")
    await activate(bus, tenant, workflow_id, new_graph, version=3, sequence=newest)
    await asyncio.sleep(0.5)
    after = await trigger_rows(infra, workflow_id)
    assert [(r["node_id"], r["workflow_version"], r["next_fire_at"]) for r in after] == [
        ("new", 3, rows[0]["next_fire_at"])
    ]
    await deactivate(bus, tenant, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows == [])
    # The last activation, delivered once more after the deactivation, stays ignored...
    await activate(bus, tenant, workflow_id, new_graph, version=3, sequence=newest)
    await asyncio.sleep(0.5)
    assert await trigger_rows(infra, workflow_id) == []
    # ...while a new activation of the same version turns it on again.
    await activate(bus, tenant, workflow_id, new_graph, version=3)
    await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 1)
    await deactivate(bus, tenant, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows == [])


async def test_activation_with_a_bad_trigger_config_is_dead_lettered(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    graph = make_graph(
        [{"id": "c", "type": "trigger.cron", "config": {"expression": "61 * * * *"}}, {"id": "a"}],
        [("c", "a")],
    )
    command = WorkflowActivated(
        sequence=next(_SEQUENCE),
        tenant_id=tenant,
        workflow_id=workflow_id,
        workflow_version=1,
        graph=graph,
    )
    await send(bus, WORKFLOW_ACTIVATED, command)
    letter = await bus.dead_letters(command.message_id)
    reason = str((letter.headers or {})[DEAD_LETTER_REASON_HEADER])
    assert "expression" in reason, reason
    assert await trigger_rows(infra, workflow_id) == []


def test_misfire_plans() -> None:
    hourly = CronTriggerConfig(expression="0 * * * *")
    now = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    grace = timedelta(seconds=2)
    on_time = plan(hourly, datetime(2026, 1, 1, 12, tzinfo=UTC), now, grace)
    assert on_time.run_slot == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert on_time.next_fire_at == datetime(2026, 1, 1, 13, tzinfo=UTC)
    missed = datetime(2025, 12, 20, 3, tzinfo=UTC)
    skipped = plan(hourly, missed, now, grace)
    assert skipped.run_slot is None
    assert skipped.next_fire_at == datetime(2026, 1, 1, 13, tzinfo=UTC)
    once = plan(hourly.model_copy(update={"misfire": "run_once"}), missed, now, grace)
    assert once.run_slot == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert once.next_fire_at == datetime(2026, 1, 1, 13, tzinfo=UTC)


def test_latest_missed_slot_after_a_long_outage() -> None:
    every_second = CronTriggerConfig(expression="* * * * * *")
    now = datetime(2026, 1, 1, 12, 30, 7, 500_000, tzinfo=UTC)
    missed = datetime(2025, 6, 1, tzinfo=UTC)
    assert latest_slot_before(every_second, missed, now) == datetime(
        2026, 1, 1, 12, 30, 7, tzinfo=UTC
    )
    paris = CronTriggerConfig(expression="0 9 * * 1", timezone="Europe/Paris")
    slot = latest_slot_before(paris, datetime(2025, 12, 1, 8, tzinfo=UTC), now)
    assert slot == datetime(2025, 12, 29, 8, tzinfo=UTC)  # Monday 09:00 in Paris


async def test_list_schedules_shows_a_tenants_active_cron_triggers(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    graph = make_graph(
        [
            {
                "id": "c",
                "type": "trigger.cron",
                "config": {"expression": "0 9 * * 1", "timezone": "Europe/Paris"},
            },
            {"id": "e", "type": "trigger.event", "config": {"pattern": "orders.*"}},
            {"id": "a"},
        ],
        [("c", "a"), ("e", "a")],
    )
    await activate(bus, tenant, workflow_id, graph, version=2)
    rows = await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 2)
    reply = await bus.rpc({"op": "list_schedules", "tenant_id": tenant})
    assert reply.result == {
        "items": [
            {
                "workflow_id": workflow_id,
                "workflow_version": 2,
                "node_id": "c",
                "expression": "0 9 * * 1",
                "timezone": "Europe/Paris",
                "misfire": "skip",
                "next_fire_at": rows[0]["next_fire_at"].isoformat().replace("+00:00", "Z"),
            }
        ]
    }
    other = await bus.rpc({"op": "list_schedules", "tenant_id": new_id("tenant")})
    assert other.result == {"items": []}
    await deactivate(bus, tenant, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows == [])


async def test_activation_of_a_graph_that_cannot_run_is_dead_lettered(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    graph = make_graph(
        [{"id": "c", "type": "trigger.cron", "config": {"expression": "0 * * * *"}}, {"id": "a"}],
        [("c", "a"), ("a", "ghost")],
    )
    command = WorkflowActivated(
        sequence=next(_SEQUENCE),
        tenant_id=tenant,
        workflow_id=workflow_id,
        workflow_version=1,
        graph=graph,
    )
    await send(bus, WORKFLOW_ACTIVATED, command)
    letter = await bus.dead_letters(command.message_id)
    reason = str((letter.headers or {})[DEAD_LETTER_REASON_HEADER])
    assert "cannot run" in reason, reason
    assert await trigger_rows(infra, workflow_id) == []
