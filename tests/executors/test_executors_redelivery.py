"""Effectively once across replicas: a node.ready that RabbitMQ redelivers (its first executor
died holding it) runs again only if its attempt still awaits a result.

The first executor is played by a consumer that takes the message and closes its channel
without acking, which is what a kill -9 looks like to RabbitMQ. The orchestrator is the real
one, in-process, answering `AttemptStatus` over `orchestrator.rpc`; `/effect` on the local
server counts the side effects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portico_contracts.messages import NodeReady
from portico_contracts.queries import AttemptStatus, RpcReply
from portico_contracts.topology import RELAYED_HEADER, executor_queue
from portico_executors.app import running
from portico_executors.attempts import OrchestratorRpc
from portico_executors.config import Settings
from portico_orchestrator.app import Orchestrator
from portico_orchestrator.config import Settings as OrchestratorSettings
from tests.orchestrator.harness import TRIGGER, Bus, make_graph

from .http_server import EFFECTS
from .support import NodeClient, executor_settings, make_ready


def checking_settings(amqp_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "types": ("http", "transform"),
        "attempt_check_window_s": 30.0,
        "attempt_check_timeout_s": 1.0,
        **overrides,
    }
    return executor_settings(amqp_url, **values)


def effects_of(execution_id: str) -> list[str]:
    keys = [headers.get("idempotency-key", "") for headers in EFFECTS]
    return [key for key in keys if key.startswith(f"{execution_id}:")]


async def declared(node_client: NodeClient, node_type: str) -> None:
    queue = executor_queue(node_type)
    found = await node_client.channel.declare_queue(
        queue.name, durable=True, arguments=queue.arguments
    )
    await found.bind(node_client.nodes, queue.routing())


async def take_and_crash(
    node_client: NodeClient, node_type: str, before_crash: Any = None, *, ack: bool = False
) -> NodeReady:
    """Receive one node.ready like an executor, then die without acking it: RabbitMQ hands
    it to the next consumer with the redelivered flag set. (`ack`: finish it properly.)"""
    channel = await node_client.connection.channel()
    try:
        queue = await channel.declare_queue(executor_queue(node_type).name, passive=True)
        deadline = time.monotonic() + 10
        while (message := await queue.get(no_ack=False, fail=False)) is None:
            assert time.monotonic() < deadline, "no node.ready arrived"
            await asyncio.sleep(0.05)
        ready = NodeReady.model_validate_json(message.body)
        if before_crash is not None:
            await before_crash(ready)
        if ack:
            await message.ack()
        return ready
    finally:
        await channel.close()


async def queue_empty(node_client: NodeClient, node_type: str, within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while (await node_client.queue_counts(executor_queue(node_type).name) or (1, 0))[0]:
        assert time.monotonic() < deadline, "the redelivered node.ready was never acked"
        await asyncio.sleep(0.05)


# --- without an orchestrator: pure nodes, and the fallback ----------------------------------


async def test_redelivered_pure_nodes_are_simply_redone(
    amqp_url: str, node_client: NodeClient
) -> None:
    await declared(node_client, "transform")
    ready = make_ready("transform", {"mapping": {"ok": True}})
    future = await node_client.publish(ready)
    await take_and_crash(node_client, "transform")
    started = time.monotonic()
    async with running(checking_settings(amqp_url)):
        result = await asyncio.wait_for(future, 10)
    assert result.output == {"ok": True}
    assert time.monotonic() - started < 5  # nobody was asked (that could take 30 s)


async def test_without_an_answer_the_side_effect_runs_after_the_window(
    amqp_url: str, node_client: NodeClient, http_base: str
) -> None:
    await declared(node_client, "http")
    ready = make_ready("http", {"method": "POST", "url": http_base + "/effect"})
    future = await node_client.publish(ready)
    await take_and_crash(node_client, "http")
    settings = checking_settings(amqp_url, attempt_check_window_s=1.5, attempt_check_timeout_s=0.3)
    async with running(settings):
        started = time.monotonic()
        result = await asyncio.wait_for(future, 15)
        waited = time.monotonic() - started
    assert result.status == "succeeded", result.error
    assert 1.4 < waited < 5
    assert effects_of(ready.execution_id) == [f"{ready.execution_id}:{ready.node_id}:1"]


# --- with the orchestrator answering --------------------------------------------------------


@pytest.fixture(scope="module")
async def orchestrator(amqp_url: str) -> AsyncIterator[Orchestrator]:
    settings = OrchestratorSettings(
        amqp_url=amqp_url,
        outbox_relay_interval_s=0.2,
        timer_poll_interval_s=0.3,
        db_pool_size=3,
        db_max_overflow=5,
        db_read_pool_size=1,
    )
    started = Orchestrator(settings)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture(scope="module")
async def bus(amqp_url: str, orchestrator: Orchestrator) -> AsyncIterator[Bus]:
    connected = Bus(amqp_url)
    await connected.open()
    yield connected
    await connected.close()


def side_effect_graph(http_base: str) -> Any:
    post = {
        "id": "post",
        "type": "http",
        "config": {"method": "POST", "url": http_base + "/effect"},
    }
    return make_graph([TRIGGER, post], [("t", "post")])


async def test_redelivered_side_effect_already_answered_is_dropped(
    amqp_url: str, node_client: NodeClient, bus: Bus, http_base: str
) -> None:
    command, _ = await bus.start(side_effect_graph(http_base), "tenant-r1")

    async def do_it_and_answer(ready: NodeReady) -> None:
        # The first executor did the side effect and published its result, then died
        # before acking the node.ready.
        EFFECTS.append({"idempotency-key": f"{ready.execution_id}:{ready.node_id}:1"})
        await bus.answer(ready, output={"status": 200})
        await bus.finished(ready.tenant_id, ready.execution_id)

    ready = await take_and_crash(node_client, "http", do_it_and_answer)
    async with running(checking_settings(amqp_url)):
        await queue_empty(node_client, "http")
        await asyncio.sleep(0.3)  # time for a (wrong) request or result to show up
    assert effects_of(command.execution_id) == [f"{command.execution_id}:post:1"]
    assert node_client.result_counts[ready.message_id] == 0  # dropped, not answered
    execution = await bus.execution("tenant-r1", command.execution_id)
    assert execution["status"] == "succeeded"


async def test_redelivered_side_effect_still_awaited_runs_once(
    amqp_url: str, node_client: NodeClient, bus: Bus, http_base: str
) -> None:
    command, _ = await bus.start(side_effect_graph(http_base), "tenant-r2")
    ready = await take_and_crash(node_client, "http")  # died before doing anything
    started = time.monotonic()
    async with running(checking_settings(amqp_url)):
        execution = await bus.finished("tenant-r2", command.execution_id, wait_s=15)
    assert time.monotonic() - started < 10  # asked and answered, not the 30 s fallback
    assert execution["status"] == "succeeded"
    assert effects_of(command.execution_id) == [f"{command.execution_id}:post:1"]
    assert node_client.result_counts[ready.message_id] == 1


@pytest.fixture(scope="module", autouse=True)
async def _no_leftovers(node_client: NodeClient) -> AsyncIterator[None]:
    yield
    # Leave no node.ready behind for the other tests sharing this vhost.
    for node_type in ("http", "transform"):
        if await node_client.queue_counts(executor_queue(node_type).name) is not None:
            queue = await node_client.channel.get_queue(executor_queue(node_type).name)
            await queue.purge()


async def test_a_relayed_copy_of_an_answered_side_effect_is_dropped(
    amqp_url: str, node_client: NodeClient, bus: Bus, http_base: str
) -> None:
    """The outbox relay may send a node.ready its writer already sent (the writer lost its
    database session for a moment): not flagged redelivered, but marked as relayed."""
    command, _ = await bus.start(side_effect_graph(http_base), "tenant-r3")

    async def do_it_and_answer(ready: NodeReady) -> None:
        EFFECTS.append({"idempotency-key": f"{ready.execution_id}:{ready.node_id}:1"})
        await bus.answer(ready, output={"status": 200})
        await bus.finished(ready.tenant_id, ready.execution_id)

    ready = await take_and_crash(node_client, "http", do_it_and_answer, ack=True)
    await node_client.publish_raw(
        ready.model_dump_json().encode(), "http", headers={RELAYED_HEADER: True}
    )
    async with running(checking_settings(amqp_url)):
        await queue_empty(node_client, "http")
        await asyncio.sleep(0.3)
    assert effects_of(command.execution_id) == [f"{command.execution_id}:post:1"]
    assert node_client.result_counts[ready.message_id] == 0


async def test_many_questions_at_once_each_get_their_own_answer(
    amqp_url: str, bus: Bus, http_base: str
) -> None:
    """After a crash, dozens of redelivered side effects ask at once; a question given up on
    must not disturb the others (nor the channel the results go out on)."""
    command, _ = await bus.start(side_effect_graph(http_base), "tenant-r4")
    await bus.ready(command.execution_id)  # attempt 1 of `post` now awaits its result

    def question(attempt: int) -> bytes:
        return (
            AttemptStatus(
                tenant_id="tenant-r4",
                execution_id=command.execution_id,
                node_id="post",
                attempt=attempt,
            )
            .model_dump_json()
            .encode()
        )

    rpc = OrchestratorRpc(amqp_url)
    try:
        with pytest.raises(TimeoutError):
            await rpc.ask(question(1), 0.001)
        answers = await asyncio.gather(*(rpc.ask(question(1 + i % 2), 5) for i in range(40)))
        awaiting = [RpcReply.model_validate_json(a).result for a in answers]
        assert awaiting == [{"awaiting": i % 2 == 0} for i in range(40)]
    finally:
        await rpc.close()
