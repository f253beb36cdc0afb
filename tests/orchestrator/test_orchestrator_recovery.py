"""Bad messages are parked, a crash leaves nothing unsent, and replicas share the work."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from portico_contracts.messages import NodeResult, utcnow
from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    DEAD_LETTER_REASON_HEADER,
    EXECUTION_START,
    NODE_RESULT,
    RESULTS_EXCHANGE,
)
from portico_orchestrator.app import Orchestrator
from portico_orchestrator.step import OutboxMessage
from tests.orchestrator.conftest import Running, orchestrator_settings
from tests.orchestrator.harness import (
    TRIGGER,
    Bus,
    make_graph,
    new_id,
    replay,
    runs_by_node,
    start_command,
    start_on,
)


async def outbox_rows(infra: Any) -> int:
    connection = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM orchestrator.outbox")
        return count
    finally:
        await connection.close()


async def test_bad_messages_are_dead_lettered_and_the_consumer_keeps_serving(bus: Bus) -> None:
    garbage_id, unknown_id, bad_start_id = new_id("m"), new_id("m"), new_id("m")
    await bus.publish(RESULTS_EXCHANGE.name, NODE_RESULT, b"{not json", message_id=garbage_id)
    stranger = NodeResult(
        tenant_id="t",
        execution_id=new_id("missing"),
        node_id="a",
        attempt=1,
        status="succeeded",
        started_at=utcnow(),
        finished_at=utcnow(),
        message_id=unknown_id,
    )
    await bus.send_result(stranger)
    await bus.publish(
        COMMANDS_EXCHANGE.name,
        EXECUTION_START,
        b'{"execution_id": "x"}',
        content_type="application/json",
        message_id=bad_start_id,
    )
    for message_id, reason in (
        (garbage_id, "invalid"),
        (unknown_id, "unknown execution"),
        (bad_start_id, "invalid StartExecution"),
    ):
        parked = await bus.dead_letters(message_id)
        assert reason in str(parked.headers[DEAD_LETTER_REASON_HEADER])

    tenant = new_id("tenant")
    command, reply = await bus.start(make_graph([TRIGGER, {"id": "a"}], [("t", "a")]), tenant)
    assert reply.error is None
    await bus.answer(await bus.ready(command.execution_id))
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"


async def test_a_start_that_cannot_run_is_refused_with_a_reply(bus: Bus) -> None:
    no_trigger = make_graph([{"id": "a"}], [])
    _, reply = await bus.start(no_trigger, "tenant")
    assert reply.error is not None
    assert reply.error.code == "invalid_request"
    assert "not a trigger" in reply.error.message


async def test_relay_publishes_what_a_crash_left_in_the_outbox(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    instance = orchestrator.instance

    async def crash_before_publishing(messages: list[tuple[int, OutboxMessage]]) -> None:
        return None  # committed, never sent: what a kill -9 right after commit leaves

    instance.outbox.publish = crash_before_publishing  # type: ignore[method-assign]
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    command, _ = await bus.start(graph, tenant, payload={"p": 1})
    assert await outbox_rows(infra) >= 2  # node.ready, and the status message of 3 events
    await bus.nothing_ready(command.execution_id, within=0.6)  # its writer is alive: no relay
    await orchestrator.restart()  # the writer is gone; the next replica relays its rows
    ready = await bus.ready(command.execution_id, wait_s=5)
    assert ready.node_id == "a"
    await bus.answer(ready)
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
    events = await replay(bus, tenant, command.execution_id)
    for _ in range(100):
        if {e.seq for e in bus.events[command.execution_id]} == {e["seq"] for e in events}:
            break
        await asyncio.sleep(0.05)
    assert {e.seq for e in bus.events[command.execution_id]} == {e["seq"] for e in events}
    for _ in range(100):
        if await outbox_rows(infra) == 0:
            break
        await asyncio.sleep(0.05)
    assert await outbox_rows(infra) == 0
    await bus.nothing_ready(command.execution_id, within=0.3)


async def test_rows_of_a_live_replica_are_never_relayed_however_old(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    """A transaction that waited long on a busy execution's row lock commits rows whose
    created_at is long past; another replica's relay must still leave them to their writer."""
    instance = orchestrator.instance
    second = Orchestrator(orchestrator_settings())
    await second.start()
    try:
        tenant = new_id("tenant")
        command = start_command(make_graph([TRIGGER, {"id": "a"}], [("t", "a")]), tenant)
        _, effects = await start_on(instance, command, publish=False)  # a slow publisher
        connection = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
        try:
            await connection.execute(
                "UPDATE orchestrator.outbox SET created_at = now() - interval '1 hour'"
            )
        finally:
            await connection.close()
        assert await second.outbox.relay_once() == 0
        await bus.nothing_ready(command.execution_id, within=0.6)
        await instance.deps.after_commit(effects)  # the writer gets round to it: one copy
        ready = await bus.ready(command.execution_id)
        await bus.answer(ready)
        assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
        await bus.nothing_ready(command.execution_id, within=0.5)
    finally:
        await second.stop()


async def test_two_replicas_share_results_without_double_work(bus: Bus) -> None:
    second = Orchestrator(orchestrator_settings())
    await second.start()
    try:
        tenant = new_id("tenant")
        width = 6
        graph = make_graph(
            [TRIGGER, *({"id": f"w{i}"} for i in range(width)), {"id": "join"}],
            [*(("t", f"w{i}") for i in range(width)), *((f"w{i}", "join") for i in range(width))],
        )
        commands = [(await bus.start(graph, tenant))[0] for _ in range(8)]

        async def drive(execution_id: str) -> None:
            ready = await bus.ready_set(execution_id, width)
            await asyncio.gather(*(bus.answer(r, output=r.node_id) for r in ready.values()))
            join = await bus.ready(execution_id)
            assert join.inputs == {f"w{i}": f"w{i}" for i in range(width)}
            await bus.answer(join)

        await asyncio.gather(*(drive(c.execution_id) for c in commands))
        for command in commands:
            execution = await bus.finished(tenant, command.execution_id)
            assert execution["status"] == "succeeded"
            assert runs_by_node(execution)["join"]["attempt"] == 1
            events = await replay(bus, tenant, command.execution_id)
            assert sum(e["type"] == "node.running" for e in events) == width + 1
            await bus.nothing_ready(command.execution_id, within=0)
    finally:
        await second.stop()
