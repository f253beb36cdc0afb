"""What the hot path costs, counted: SQL statements, commits and confirmed publishes per
execution and per chain hop, and the start reply's place (after commit, before confirms).

The replica here runs alone in a vhost of its own (another suite's orchestrator, still running
on the shared vhost, would take its commands) with its background loops (relay, timers, cron,
watchdog, outbox cleanup) slowed to a crawl, so every statement its pool sees in a window
belongs to the messages the test sent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    EXECUTION_START,
    NODES_EXCHANGE,
    STATUS_EXCHANGE,
)
from portico_orchestrator import db
from portico_orchestrator.app import Orchestrator
from portico_orchestrator.step import OutboxMessage
from tests.harness.vhosts import private_vhost
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, published_seqs

NODES, STATUS = NODES_EXCHANGE.name, STATUS_EXCHANGE.name

_QUIET = {
    "outbox_relay_interval_s": 3600.0,
    "outbox_cleanup_interval_s": 60.0,
    "timer_poll_interval_s": 3600.0,
    "cron_poll_interval_s": 3600.0,
    "watchdog_interval_s": 3600.0,
}


class StatementLog:
    """Every statement the replica's asyncpg pool sends, in order."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, record: Any) -> None:
        self.statements.append(" ".join(str(record.query).split()))

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


# asyncpg's type introspection, once per pooled connection and type: not per message.
_INTROSPECTION = (
    "SELECT current_setting('jit')",
    "SELECT set_config('jit'",
    "WITH RECURSIVE typeinfo",
)


def kinds(statements: Sequence[str]) -> Counter[str]:
    """Statements by what they do: BEGIN, COMMIT, lock, save, …"""
    found: Counter[str] = Counter()
    for sql in statements:
        if not sql.startswith(_INTROSPECTION):
            found[_kind(sql)] += 1
    return found


def _kind(sql: str) -> str:
    head = sql.upper()
    for prefix, name in (
        ("BEGIN", "begin"),
        ("COMMIT", "commit"),
        ("SELECT PG_ADVISORY_XACT_LOCK", "admission_lock"),
        ("DELETE FROM ORCHESTRATOR.OUTBOX", "outbox_delete"),
        ("WITH INS AS", "insert_execution"),
        ("WITH EX AS", "save_step"),
        ("SELECT EXISTS", "has_queued"),
    ):
        if head.startswith(prefix):
            return name
    if "FOR UPDATE" in head and "ORCHESTRATOR.EXECUTIONS" in head:
        return "lock_execution"
    if "TENANT_RUNNING" in head:
        return "admission_count"
    return sql[:60]


class Costs:
    def __init__(self, instance: Orchestrator, log: StatementLog) -> None:
        self.instance = instance
        self.log = log
        self.published: list[OutboxMessage] = []
        publish_one = instance.outbox._publish_one

        async def counted(message: OutboxMessage, relayed: bool) -> bool:
            self.published.append(message)
            return await publish_one(message, relayed)

        instance.outbox._publish_one = counted  # type: ignore[method-assign]

    def take(self) -> tuple[Counter[str], Counter[str]]:
        """Statements by kind, and confirmed publishes by exchange, since the last take."""
        published, self.published = self.published, []
        return kinds(self.log.take()), Counter(message.exchange for message in published)

    async def settled(self) -> None:
        """Wait for after-commit work (admission of waiting executions) to finish."""
        for _ in range(100):
            if not self.instance.deps._admitting:
                return
            await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def statement_log() -> StatementLog:
    return StatementLog()


@pytest.fixture(scope="module")
def amqp_url(infra: Any) -> Iterator[str]:
    with private_vhost(infra, "costs", required=True) as url:
        yield url


@pytest.fixture(scope="module")
async def orchestrator(amqp_url: str, statement_log: StatementLog) -> AsyncIterator[Running]:
    """Overrides the package's: a replica whose pool reports every statement."""
    original = db._init_connection

    async def logging_init(conn: db.Connection) -> None:
        await original(conn)
        conn.add_query_logger(statement_log)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db, "_init_connection", logging_init)
        running = Running(amqp_url=amqp_url, **_QUIET)
        await running.instance.start()
    yield running
    await running.instance.stop()


@pytest.fixture
async def costs(orchestrator: Running, statement_log: StatementLog) -> Costs:
    counted = Costs(orchestrator.instance, statement_log)
    await asyncio.sleep(0.2)  # start-up reads of the loops are over
    statement_log.take()
    return counted


async def test_a_two_node_execution_costs_six_statements(bus: Bus, costs: Costs) -> None:
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    command, reply = await bus.start(graph, tenant)
    assert reply.result is not None
    a = await bus.ready(command.execution_id)
    await published_seqs(bus, command.execution_id, 3)
    start, start_published = costs.take()

    await bus.answer(a, output={"a": 1})
    await published_seqs(bus, command.execution_id, 5)
    await costs.settled()
    result, result_published = costs.take()
    print(f"\nstart: {dict(start)} published {start_published}")
    print(f"result: {dict(result)} published {result_published}")

    assert start == {
        "begin": 1,
        "admission_lock": 1,
        "admission_count": 1,
        "insert_execution": 1,
        "commit": 1,
    }
    # node.ready; one message for execution.started, node.succeeded (the trigger), node.running
    assert start_published == {NODES: 1, STATUS: 1}
    # No queued-executions check: nothing was queued when the execution finished.
    # This replica made the row's last save: no BEGIN, lock or COMMIT, just the guarded save.
    assert result == {"save_step": 1}
    assert result_published == {STATUS: 1}  # node.succeeded, execution.succeeded

    # Published rows go in one statement (its own implicit commit), not BEGIN/DELETE/COMMIT.
    await costs.instance.outbox.flush_deletes()
    flushed, _ = costs.take()
    assert flushed == {"outbox_delete": 1}


async def test_a_chain_hop_costs_one_statement_and_two_publishes(bus: Bus, costs: Costs) -> None:
    tenant = new_id("tenant")
    graph = make_graph(
        [TRIGGER, {"id": "a"}, {"id": "b"}, {"id": "c"}], [("t", "a"), ("a", "b"), ("b", "c")]
    )
    command, _ = await bus.start(graph, tenant)
    await bus.answer(await bus.ready(command.execution_id))
    b = await bus.ready(command.execution_id)
    await published_seqs(bus, command.execution_id, 5)
    costs.take()

    await bus.answer(b, output={"b": 1})
    await bus.ready(command.execution_id)
    await published_seqs(bus, command.execution_id, 7)
    hop, published = costs.take()
    print(f"\nhop: {dict(hop)} published {published}")
    assert hop == {"save_step": 1}
    assert published == {NODES: 1, STATUS: 1}  # node.ready; node.succeeded + node.running


async def test_the_start_reply_comes_after_commit_without_waiting_for_the_publish(
    bus: Bus, orchestrator: Running
) -> None:
    outbox = orchestrator.instance.outbox
    publish = outbox.publish
    release = asyncio.Event()
    held: list[int] = []

    async def slow_publish(messages: Sequence[tuple[int, OutboxMessage]]) -> None:
        held.append(len(messages))
        await release.wait()  # confirms that take their time
        await publish(messages)

    outbox.publish = slow_publish  # type: ignore[method-assign]
    try:
        tenant = new_id("tenant")
        graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
        command, reply = await asyncio.wait_for(bus.start(graph, tenant, payload={"p": 1}), 5)
        assert reply.error is None
        assert reply.result is not None
        assert (reply.result["id"], reply.result["status"]) == (command.execution_id, "running")
        assert held == [2]  # the reply went out while its messages were still unpublished
        # Read-your-writes: another connection already sees what the reply describes.
        stored = await bus.execution(tenant, command.execution_id)
        assert stored["status"] == "running"
        assert stored["last_seq"] == reply.result["last_seq"] == 3
        await bus.nothing_ready(command.execution_id, within=0.2)

        # The same command again (a caller that timed out) answers with the same execution.
        again = await bus.request(
            command, exchange=COMMANDS_EXCHANGE.name, routing_key=EXECUTION_START
        )
        assert again.result is not None
        assert again.result["id"] == command.execution_id
        assert again.result["created_at"] == reply.result["created_at"]
    finally:
        release.set()
        outbox.publish = publish  # type: ignore[method-assign]
    ready = await bus.ready(command.execution_id)
    await bus.answer(ready)
    assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
    await bus.nothing_ready(command.execution_id, within=0.2)  # dispatched once


async def test_a_finish_offers_its_place_to_a_queued_execution_without_asking_first(
    bus: Bus, costs: Costs
) -> None:
    """The watchdog's sweep is an hour away here: only the finishing step can admit it."""
    tenant = new_id("tenant")
    base = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    graph = base.model_copy(
        update={"settings": base.settings.model_copy(update={"max_concurrency": 1})}
    )
    first, _ = await bus.start(graph, tenant, workflow_id="wf-one-at-a-time")
    second, reply = await bus.start(graph, tenant, workflow_id="wf-one-at-a-time")
    assert reply.result is not None
    assert reply.result["status"] == "queued"
    ready = await bus.ready(first.execution_id)
    costs.take()

    await bus.answer(ready)
    admitted = await bus.ready(second.execution_id, wait_s=3)
    assert admitted.node_id == "a"
    await costs.settled()
    statements, _ = costs.take()
    assert statements["has_queued"] == 0  # the save said so
    assert statements["save_step"] == 2  # the finish, and the admitted one's start
    await bus.answer(admitted)
    assert (await bus.finished(tenant, second.execution_id))["status"] == "succeeded"


async def test_starts_of_one_version_share_its_parsed_graph(
    bus: Bus, orchestrator: Running
) -> None:
    service = orchestrator.instance.service
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
    first, _ = await bus.start(graph, tenant, workflow_id="wf-shared")
    second, _ = await bus.start(graph, tenant, workflow_id="wf-shared")
    entries = [service.cache.get(c.execution_id) for c in (first, second)]
    assert entries[0] is not None
    assert entries[1] is not None
    assert entries[0].index is entries[1].index

    # Another graph under the same (workflow, version) is never taken for the cached one.
    other = make_graph([TRIGGER, {"id": "b"}], [("t", "b")])
    third, _ = await bus.start(other, tenant, workflow_id="wf-shared")
    ready = await bus.ready(third.execution_id)
    assert ready.node_id == "b"
    for command in (first, second):
        await bus.answer(await bus.ready(command.execution_id))
    await bus.answer(ready)
    for command in (first, second, third):
        assert (await bus.finished(tenant, command.execution_id))["status"] == "succeeded"
