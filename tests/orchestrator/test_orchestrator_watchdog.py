"""Nothing waits forever: the watchdog, dead letters, poison messages, and oversized inputs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage

from portico_contracts.broker import undecoded
from portico_contracts.dead_letter import DeadLetterMiddleware
from portico_contracts.graph import Node
from portico_contracts.queries import AttemptStatus, ListDeadLetters
from portico_contracts.topology import (
    DELIVERIES_HEADER,
    DELIVERY_LIMIT,
    NODES_EXCHANGE,
    executor_queue,
)
from portico_orchestrator.dead_letters import DeadLetter
from portico_orchestrator.service import Limits
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import (
    TRIGGER,
    Bus,
    make_graph,
    new_id,
    runs_by_node,
    start_command,
    start_on,
)


async def age_dispatch(infra: Any, execution_id: str, node_id: str, seconds: float) -> None:
    """Make a node look dispatched `seconds` ago (instead of waiting that long)."""
    moment = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()
    connection = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    try:
        await connection.execute(
            """
            UPDATE orchestrator.executions
            SET node_state = jsonb_set(jsonb_set(node_state, ARRAY[$2, 'd'], to_jsonb($3::text)),
                                       ARRAY[$2, 't'], to_jsonb($3::text))
            WHERE id = $1
            """,
            execution_id,
            node_id,
            moment,
        )
    finally:
        await connection.close()


async def test_a_silent_node_is_dispatched_again_then_failed_as_a_timeout(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    watchdog = orchestrator.instance.watchdog
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a", "timeout_s": 5}], [("t", "a")])
    command, _ = await bus.start(graph, tenant)
    first = await bus.ready(command.execution_id)

    await watchdog.sweep()  # not overdue yet (deadline 5 s + 30 s grace)
    await bus.nothing_ready(command.execution_id, within=0.2)

    await age_dispatch(infra, command.execution_id, "a", 60)
    await watchdog.sweep()
    again = await bus.ready(command.execution_id)
    assert (again.attempt, again.node_id) == (first.attempt, "a")
    assert again.message_id != first.message_id
    assert (await bus.execution(tenant, command.execution_id))["status"] == "running"

    await age_dispatch(infra, command.execution_id, "a", 60)
    await watchdog.sweep()
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "failed"
    error = runs_by_node(execution)["a"]["error"]
    assert error["type"] == "Timeout"
    assert "no result within 35 s" in error["message"]
    await bus.answer(first, output="too late")  # a late answer changes nothing
    await asyncio.sleep(0.2)
    assert (await bus.execution(tenant, command.execution_id))["status"] == "failed"


async def test_the_watchdog_timeout_follows_the_retry_policy(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    watchdog = orchestrator.instance.watchdog
    tenant = new_id("tenant")
    retry = {"max_attempts": 2, "initial_delay_ms": 10}
    graph = make_graph([TRIGGER, {"id": "a", "timeout_s": 1, "retry": retry}], [("t", "a")])
    command, _ = await bus.start(graph, tenant)
    await bus.ready(command.execution_id)
    for _ in range(2):  # re-dispatch, then fail
        await age_dispatch(infra, command.execution_id, "a", 60)
        await watchdog.sweep()
    second = await bus.ready(command.execution_id)  # the re-dispatch of attempt 1
    assert second.attempt == 1
    retried = await bus.ready(command.execution_id)
    assert retried.attempt == 2
    await bus.answer(retried, output="ok")
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"


async def test_a_poison_node_ready_is_dead_lettered_and_fails_its_node(bus: Bus) -> None:
    """A node.ready that its consumer never settles (here: gives back each time, as a crash
    does) comes back DELIVERY_LIMIT times at most, then is dead-lettered and fails its node."""
    spec = executor_queue("test.poison")
    deliveries: list[int] = []
    consumer = RabbitBroker(bus.amqp_url, middlewares=[DeadLetterMiddleware], logger=None)

    @consumer.subscriber(spec, NODES_EXCHANGE, ack_policy=AckPolicy.MANUAL, decoder=undecoded)
    async def crash(message: RabbitMessage) -> None:
        deliveries.append(int(message.headers.get(DELIVERIES_HEADER, 0)))
        await message.nack(requeue=True)

    await consumer.start()
    try:
        tenant = new_id("tenant")
        graph = make_graph([TRIGGER, {"id": "a", "type": "test.poison"}], [("t", "a")])
        command, _ = await bus.start(graph, tenant)
        execution = await bus.finished(tenant, command.execution_id, wait_s=20)
        assert execution["status"] == "failed"
        error = runs_by_node(execution)["a"]["error"]
        assert error["type"] == "DeadLettered"
        assert "without being settled" in error["message"]
        assert deliveries == list(range(DELIVERY_LIMIT))
        reply = await bus.rpc(ListDeadLetters(tenant_id=tenant, execution_id=command.execution_id))
        assert reply.result is not None
        [letter] = reply.result["items"]
        assert letter["node_id"] == "a"
        assert letter["routing_key"] == "node.ready.test.poison"
        assert "without being settled" in letter["reason"]
        other = await bus.rpc(ListDeadLetters(tenant_id=new_id("tenant")))
        assert other.result == {"items": [], "next_cursor": None}
    finally:
        await consumer.stop()
        connection = await aio_pika.connect_robust(bus.amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(spec.name)


async def test_dead_letters_are_counted_by_kind(orchestrator: Running) -> None:
    deps = orchestrator.instance.deps
    sample = "portico_orchestrator_dead_letters_total"

    def count(kind: str) -> float:
        return deps.metrics.registry.get_sample_value(sample, {"kind": kind}) or 0.0

    before = count("node.ready"), count("other")
    await deps.dead_lettered(DeadLetter(reason="test", routing_key="node.ready.http"))
    await deps.dead_lettered(DeadLetter(reason="test", routing_key="made.up.by.anyone"))
    assert (count("node.ready"), count("other")) == (before[0] + 1, before[1] + 1)


async def test_attempt_status_tells_an_executor_whether_to_redo_a_node(bus: Bus) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(make_graph([TRIGGER, {"id": "a"}], [("t", "a")]), tenant)
    ready = await bus.ready(command.execution_id)

    async def awaiting(attempt: int, who: str = tenant) -> bool:
        query = AttemptStatus(
            tenant_id=who, execution_id=command.execution_id, node_id="a", attempt=attempt
        )
        reply = await bus.rpc(query)
        assert reply.result is not None, reply
        return bool(reply.result["awaiting"])

    assert await awaiting(1)
    assert not await awaiting(2)
    assert not await awaiting(1, who=new_id("tenant"))
    await bus.answer(ready)
    await bus.finished(tenant, command.execution_id)
    assert not await awaiting(1)


async def test_a_node_whose_inputs_are_over_the_message_limit_fails_instead_of_dispatching(
    bus: Bus, orchestrator: Running
) -> None:
    service = orchestrator.instance.service
    limit = service.limits.max_message_bytes
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b")])
    command, _ = await bus.start(graph, tenant)
    await bus.answer(await bus.ready(command.execution_id), output="x" * (limit + 10))
    execution = await bus.finished(tenant, command.execution_id)
    assert execution["status"] == "failed"
    error = runs_by_node(execution)["b"]["error"]
    assert error["type"] == "MessageTooLarge"
    assert "PORTICO_MAX_MESSAGE_BYTES" in error["message"]
    await bus.nothing_ready(command.execution_id, within=0.2)


async def test_node_ready_carries_only_the_outputs_its_templates_read(bus: Bus) -> None:
    """A chain of large outputs must not pile up in every later node.ready."""
    tenant = new_id("tenant")
    reader = {
        "id": "c",
        "type": "transform",
        "config": {"mapping": {"first": "{{ nodes.a.output.size }}"}},
    }
    graph = make_graph(
        [TRIGGER, {"id": "a"}, {"id": "b"}, reader], [("t", "a"), ("a", "b"), ("b", "c")]
    )
    command, _ = await bus.start(graph, tenant, payload={"big": "t" * 100_000})
    big = "x" * 1_000_000
    await bus.answer(await bus.ready(command.execution_id), output={"size": 1, "blob": big})
    await bus.answer(await bus.ready(command.execution_id), output={"blob": big})
    c = await bus.ready(command.execution_id)
    assert c.node_id == "c"
    assert c.nodes == {"a": {"output": {"size": 1, "blob": big}}}
    assert c.inputs == {}
    assert c.trigger is None
    assert len(c.model_dump_json()) < 1_100_000
    await bus.answer(c)
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"


async def test_what_committed_is_published_even_if_the_handler_is_cancelled(
    bus: Bus, orchestrator: Running
) -> None:
    """A lost broker connection cancels the handlers on it; a publish cut short that way
    would leave rows owned by a live replica, which no relay ever takes."""
    instance = orchestrator.instance
    command = start_command(make_graph([TRIGGER, {"id": "a"}], [("t", "a")]), new_id("tenant"))
    _, effects = await start_on(instance, command, publish=False)
    outbox = instance.outbox
    real = outbox._publish_one

    async def slow(message: Any, relayed: bool) -> bool:
        await asyncio.sleep(0.3)
        return await real(message, relayed)

    outbox._publish_one = slow  # type: ignore[method-assign]
    try:
        handler = asyncio.create_task(instance.deps.after_commit(effects))
        await asyncio.sleep(0.1)
        handler.cancel()
        ready = await bus.ready(command.execution_id, wait_s=5)
        assert ready.node_id == "a"
    finally:
        outbox._publish_one = real  # type: ignore[method-assign]


async def test_queries_survive_a_database_that_dropped_their_connections(
    bus: Bus, infra: Any
) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(make_graph([TRIGGER, {"id": "a"}], [("t", "a")]), tenant)
    await bus.execution(tenant, command.execution_id)  # the read pool holds a connection now
    connection = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'portico-orchestrator-read'"
            " AND datname = current_database()"
        )
    finally:
        await connection.close()
    for _ in range(3):  # each read connection of the pool was a dead one
        reply = await bus.rpc(
            {"op": "get_execution", "tenant_id": tenant, "execution_id": command.execution_id}
        )
        assert reply.error is None, reply


def test_a_wait_is_given_the_executors_inline_limit_whatever_its_timeout() -> None:
    limits = Limits(wait_deadline_s=90, node_deadline_s=300, deadline_grace_s=30)
    wait = Node(id="w", type="wait", config={"seconds": 50}, timeout_s=10)
    http = Node(id="h", type="http", config={}, timeout_s=10)
    assert limits.deadline_s(wait) == 90
    assert limits.deadline_s(http) == 40
    assert limits.deadline_s(Node(id="x", type="http", config={})) == 300
