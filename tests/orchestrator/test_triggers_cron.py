"""Cron triggers: one execution per slot across replicas, and the misfire policies."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from portico_orchestrator.app import Orchestrator
from portico_orchestrator.schedules import slot_execution_id
from tests.orchestrator.conftest import Running, orchestrator_settings
from tests.orchestrator.harness import Bus, new_id
from tests.orchestrator.test_triggers_registry import (
    activate,
    cron_graph,
    deactivate,
    executions_of,
    payload_of,
    query,
    wait_for_rows,
)


async def test_every_second_with_three_replicas_starts_each_slot_once(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    others = [Orchestrator(orchestrator_settings()) for _ in range(2)]
    for replica in others:
        await replica.start()
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    try:
        await activate(bus, tenant, workflow_id, cron_graph("* * * * * *"))
        await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 1)
        await asyncio.sleep(4.2)
        await deactivate(bus, tenant, workflow_id)
        await wait_for_rows(infra, workflow_id, lambda rows: rows == [])
    finally:
        for replica in others:
            await replica.stop()

    executions = await executions_of(infra, workflow_id)
    slots = [datetime.fromisoformat(payload_of(row)["scheduled_for"]) for row in executions]
    assert len(slots) >= 3, slots
    assert len(set(slots)) == len(slots)
    ordered = sorted(slots)
    assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(ordered))
    for row, slot in zip(executions, slots, strict=True):
        assert row["mode"] == "cron"
        assert row["trigger_node_id"] == "c"
        assert row["tenant_id"] == tenant
        assert row["id"] == slot_execution_id(workflow_id, "c", slot)
        fired_at = datetime.fromisoformat(payload_of(row)["fired_at"])
        assert slot <= fired_at < slot + timedelta(seconds=1)


async def _miss_slots(infra: Any, workflow_id: str) -> datetime:
    """Pretend the orchestrators were down for five hours; returns the moment it 'woke'."""
    await query(
        infra,
        "UPDATE orchestrator.triggers SET next_fire_at = now() - interval '5 hours'"
        " WHERE workflow_id = $1",
        workflow_id,
    )
    return datetime.now(UTC)


async def test_misfire_skip_runs_nothing_and_moves_to_the_future(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    await activate(bus, tenant, workflow_id, cron_graph("0 * * * *", "skip"))
    await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 1)
    woke = await _miss_slots(infra, workflow_id)
    rows = await wait_for_rows(infra, workflow_id, lambda rows: rows[0]["next_fire_at"] > woke)
    assert rows[0]["next_fire_at"] <= woke + timedelta(hours=1)
    await asyncio.sleep(0.3)
    assert await executions_of(infra, workflow_id) == []
    await deactivate(bus, tenant, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows == [])


async def test_misfire_run_once_runs_the_latest_missed_slot(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    tenant, workflow_id = new_id("tenant"), new_id("wf")
    await activate(bus, tenant, workflow_id, cron_graph("0 * * * *", "run_once"))
    await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 1)
    woke = await _miss_slots(infra, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows[0]["next_fire_at"] > woke)
    await asyncio.sleep(0.3)
    executions = await executions_of(infra, workflow_id)
    assert len(executions) == 1
    slot = datetime.fromisoformat(payload_of(executions[0])["scheduled_for"])
    assert slot == woke.replace(minute=0, second=0, microsecond=0)
    assert executions[0]["id"] == slot_execution_id(workflow_id, "c", slot)
    await deactivate(bus, tenant, workflow_id)
    await wait_for_rows(infra, workflow_id, lambda rows: rows == [])
