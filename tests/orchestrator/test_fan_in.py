"""Fan-in group commit: results of one execution that arrive together are applied in one
transaction; a bad one among them fails alone.

The replica runs in a vhost of its own, so no other suite's orchestrator takes its results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from portico_contracts.messages import NodeResult
from portico_contracts.topology import DEAD_LETTER_REASON_HEADER
from portico_orchestrator import db
from portico_orchestrator.app import Orchestrator
from portico_orchestrator.fan_in import FanIn
from portico_orchestrator.service import ArrivedResult
from portico_orchestrator.step import Effects
from portico_orchestrator.unit_of_work import Deps
from tests.harness.vhosts import private_vhost
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, replay, runs_by_node

BRANCHES = 20


class Batches:
    """Wraps the replica's `apply_results` (under the row lock) and `apply_results_unlocked`:
    the size of every batch each was asked to apply, and a gate that holds the first call
    until released (so the results behind it gather)."""

    def __init__(self, instance: Orchestrator) -> None:
        self.sizes: list[int] = []  # of every batch, whichever way it went
        self.locked: list[int] = []  # of the batches that took the locked path
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.arrived = 0  # results handed to the replica's fan-in
        self.returned = 0  # fan-in calls that returned: their messages may be acked now
        service = instance.service
        self.originals = (service.apply_results, service.apply_results_unlocked)
        apply_results, apply_unlocked = self.originals

        async def unlocked(conn: db.Connection, arrived: Sequence[ArrivedResult]) -> Any:
            self.sizes.append(len(arrived))
            self.entered.set()
            await self.gate.wait()
            return await apply_unlocked(conn, arrived)

        async def locked(conn: db.Connection, arrived: Sequence[ArrivedResult]) -> Effects:
            self.locked.append(len(arrived))
            return await apply_results(conn, arrived)

        service.apply_results = locked  # type: ignore[method-assign]
        service.apply_results_unlocked = unlocked  # type: ignore[method-assign]

    def restore(self, instance: Orchestrator) -> None:
        self.gate.set()
        service = instance.service
        service.apply_results, service.apply_results_unlocked = self.originals  # type: ignore[method-assign]

    async def first_entered(self) -> None:
        await asyncio.wait_for(self.entered.wait(), 10)

    async def release_once_arrived(self, count: int) -> None:
        """Open the gate once `count` results have reached the fan-in (each is queued there by
        the time it counts), however slow the machine."""
        for _ in range(500):
            if self.arrived >= count:
                break
            await asyncio.sleep(0.02)
        assert self.arrived >= count, f"only {self.arrived} of {count} results arrived"
        self.gate.set()


@pytest.fixture(scope="module")
def amqp_url(infra: Any) -> Iterator[str]:
    with private_vhost(infra, "fanin", required=True) as url:
        yield url


@pytest.fixture
def batches(orchestrator: Running, monkeypatch: pytest.MonkeyPatch) -> Iterator[Batches]:
    counted = Batches(orchestrator.instance)
    apply = FanIn.apply

    async def counting(fan_in: FanIn, arrived: ArrivedResult) -> None:
        counted.arrived += 1
        await apply(fan_in, arrived)
        counted.returned += 1

    monkeypatch.setattr(FanIn, "apply", counting)
    yield counted
    counted.restore(orchestrator.instance)


def fan_out_graph() -> Any:
    branches = [f"b{i}" for i in range(BRANCHES)]
    return make_graph(
        [TRIGGER, *({"id": b} for b in branches), {"id": "join", "type": "merge"}],
        [*(("t", b) for b in branches), *((b, "join") for b in branches)],
    )


async def test_results_arriving_together_share_one_transaction(bus: Bus, batches: Batches) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(fan_out_graph(), tenant)
    ready = await bus.ready_set(command.execution_id, BRANCHES)
    answers = [bus.answer(one, output={"branch": one.node_id}) for one in ready.values()]
    await asyncio.gather(*answers)
    await batches.first_entered()  # the first results are being applied…
    await batches.release_once_arrived(BRANCHES)  # …while the others arrive and wait

    join = await bus.ready(command.execution_id)
    assert join.node_id == "join"
    assert set(join.inputs) == set(ready)  # every branch's output reached the merge
    await bus.answer(join)
    finished = await bus.finished(tenant, command.execution_id)
    await bus.nothing_ready(command.execution_id, within=0.2)  # the merge went out once

    assert finished["status"] == "succeeded"
    runs = runs_by_node(finished)
    assert all(runs[branch]["status"] == "succeeded" for branch in ready)
    assert runs["b3"]["output"] == {"branch": "b3"}
    # The first few, then all that gathered behind them in one statement; then the merge. This
    # replica made every save, so none needed the row lock.
    first, gathered, *rest = batches.sizes
    assert (first + gathered, rest, batches.locked) == (BRANCHES, [1], [])


async def test_a_bad_result_in_a_batch_fails_alone(bus: Bus, batches: Batches) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(fan_out_graph(), tenant)
    ready = list((await bus.ready_set(command.execution_id, BRANCHES)).values())
    await bus.answer(ready[0])
    await batches.first_entered()
    # Names a node the execution does not have: it can never apply, and must not stop the
    # good results that share its batch.
    now = datetime.now(UTC)
    bad = NodeResult(
        tenant_id=tenant,
        execution_id=command.execution_id,
        node_id="nowhere",
        attempt=1,
        status="succeeded",
        started_at=now,
        finished_at=now,
    )
    await bus.send_result(bad)
    for one in ready[1:]:
        await bus.answer(one)
    await batches.release_once_arrived(BRANCHES + 1)

    dead = await bus.dead_letters(bad.message_id)
    assert "no node 'nowhere'" in str((dead.headers or {})[DEAD_LETTER_REASON_HEADER])
    join = await bus.ready(command.execution_id)
    await bus.answer(join)
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
    # Tried together, then one by one.
    assert batches.sizes[:2] == [1, BRANCHES]
    assert batches.sizes[2 : 2 + BRANCHES] == [1] * BRANCHES


async def test_a_row_saved_elsewhere_meanwhile_takes_the_locked_path(
    bus: Bus, batches: Batches, orchestrator: Running
) -> None:
    batches.gate.set()
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b")])
    command, _ = await bus.start(graph, tenant)
    a = await bus.ready(command.execution_id)
    # Another replica's save (a timer, the watchdog, a cancel) moves the row on: what this
    # replica kept is stale, and a save made on it must not take effect.
    async with db.connection(orchestrator.instance.deps.pool) as conn:
        await conn.execute(
            "UPDATE orchestrator.executions SET version = version + 1 WHERE id = $1",
            command.execution_id,
        )
    await bus.answer(a, output={"a": 1})
    b = await bus.ready(command.execution_id)
    assert b.nodes["a"] == {"output": {"a": 1}}
    assert (batches.sizes, batches.locked) == ([1], [1])  # tried unlocked, then locked

    await bus.answer(b)  # the locked save was this replica's: unlocked again
    finished = await bus.finished(tenant, command.execution_id)
    assert finished["status"] == "succeeded"
    assert (batches.sizes, batches.locked) == ([1, 1], [1])
    events = await replay(bus, tenant, command.execution_id)  # seqs 1, 2, 3… without gaps
    assert [e["type"] for e in events].count("node.succeeded") == 3


async def _until(condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_next_round_does_not_wait_for_the_previous_ones_publishing(
    bus: Bus, batches: Batches, orchestrator: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Round two saves on the row round one committed while round one's messages are still
    being published; round one's results are acked only once theirs went out."""
    batches.gate.set()
    tenant = new_id("tenant")
    command, _ = await bus.start(fan_out_graph(), tenant)
    ready = list((await bus.ready_set(command.execution_id, BRANCHES)).values())

    deps = orchestrator.instance.deps
    carry_out = Deps.carry_out
    held = asyncio.Event()
    released = asyncio.Event()

    async def hold_the_first(effects: Effects) -> None:
        if not held.is_set():
            held.set()
            await released.wait()
        await carry_out(deps, effects)

    monkeypatch.setattr(deps, "carry_out", hold_the_first)
    before = batches.returned
    await bus.answer(ready[0])
    await asyncio.wait_for(held.wait(), 10)  # round one committed; its publishing is held
    for one in ready[1:]:
        await bus.answer(one)

    join = await bus.ready(command.execution_id)  # round two saved and published meanwhile
    assert join.node_id == "join"
    await _until(lambda: batches.returned - before == BRANCHES - 1, "round two's results")
    await asyncio.sleep(0.1)
    assert batches.returned - before == BRANCHES - 1  # round one's result is not acked yet
    released.set()
    await _until(lambda: batches.returned - before == BRANCHES, "round one's result")

    await bus.answer(join)
    finished = await bus.finished(tenant, command.execution_id)
    assert finished["status"] == "succeeded"
    assert batches.locked == []  # round two saved on the row round one kept, unlocked
    events = await replay(bus, tenant, command.execution_id)
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
