"""Each execution's events reach a client once, in seq order, without gaps.

The first tests drive the `Sequencer` and the hub directly with hand-made events; the others
use the real orchestrator (EventsSince) and the real status exchange.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker

from portico_contracts.messages import NodeProgress, StatusEvent, encode_status_events
from portico_contracts.topology import STATUS_EXCHANGE, status_key
from portico_gateway.broker import open_rpc_channel
from portico_gateway.hub import LiveEvent, StatusHub
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.rpc import RpcClient
from portico_gateway.ws_subscriptions import Sequencer
from tests.gateway.conftest import (
    User,
    connect,
    create,
    finished,
    receive,
    run,
    send,
    trigger_only_graph,
)


def _event(
    seq: int,
    kind: str = "node.succeeded",
    ids: tuple[str, str, str] = ("t", "w", "e"),  # tenant, workflow, execution
) -> StatusEvent:
    tenant_id, workflow_id, execution_id = ids
    return StatusEvent(
        tenant_id=tenant_id,
        execution_id=execution_id,
        workflow_id=workflow_id,
        seq=seq,
        type=kind,  # type: ignore[arg-type]
        status="succeeded",
    )


def _batch(*events: StatusEvent) -> bytes:
    """The body the orchestrator publishes for one transaction's events."""
    _, body = encode_status_events([(event, event.model_dump_json()) for event in events])
    return body.encode()


def test_sequencer_reorders_and_drops_duplicates() -> None:
    delivered: list[int] = []
    sequencer = Sequencer("e", 0, lambda live: delivered.append(live.event.seq))
    for seq in (3, 1, 1, 4):
        kind = "execution.succeeded" if seq == 4 else "node.succeeded"
        sequencer.accept(LiveEvent(_event(seq, kind)))
    assert delivered == [1]
    assert sorted(sequencer.pending) == [3, 4]
    sequencer.accept(LiveEvent(_event(2)))
    assert delivered == [1, 2, 3, 4]
    assert sequencer.finished
    assert not sequencer.pending
    sequencer.accept(LiveEvent(_event(2)))
    assert delivered == [1, 2, 3, 4]


class _Listener:
    tenant_id = "t"

    def __init__(self) -> None:
        self.resyncs = 0
        self.seqs: list[int] = []

    def offer(self, event: LiveEvent) -> None:
        self.seqs.append(event.event.seq)

    def offer_progress(self, progress: NodeProgress) -> None:
        pass

    def resync(self) -> None:
        self.resyncs += 1


def test_hub_hands_a_batch_on_event_by_event_in_seq_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = StatusHub()
    by_execution, by_workflow = _Listener(), _Listener()
    hub.add_execution("e", by_execution)
    hub.add_workflow("w", by_workflow)
    key = status_key("t", "w", "e")
    hub.feed(key, _batch(_event(1), _event(2), _event(3)))
    hub.feed(key, _event(4).model_dump_json().encode())  # one event alone, as before batches
    assert by_execution.seqs == by_workflow.seqs == [1, 2, 3, 4]

    with caplog.at_level(logging.WARNING, logger="portico.gateway.hub"):
        hub.feed(key, b'{"schema_version": 1, "tenant_id": "t", "events": []}')
    assert "unreadable status event" in caplog.text
    assert by_execution.seqs == [1, 2, 3, 4]


def test_broker_reconnect_resyncs_execution_and_workflow_subscriptions() -> None:
    # Events published while the gateway was disconnected are gone; every subscription,
    # whether to one execution or to a whole workflow, must ask the orchestrator for them.
    hub = StatusHub()
    by_execution, by_workflow = _Listener(), _Listener()
    hub.add_execution("e", by_execution)
    hub.add_workflow("w", by_workflow)
    hub.resync_all()
    assert (by_execution.resyncs, by_workflow.resyncs) == (1, 1)


@pytest.fixture
async def orchestrator_client(infra: Any) -> AsyncIterator[OrchestratorClient]:
    broker = RabbitBroker(infra.amqp_url)
    await broker.start()
    rpc = RpcClient(lambda: open_rpc_channel(broker))
    await rpc.start()
    try:
        yield OrchestratorClient(rpc, timeout_s=5)
    finally:
        await rpc.stop()
        await broker.stop()


@pytest.mark.usefixtures("live_orchestrator")
async def test_gap_is_filled_from_the_orchestrator(
    alice: User, orchestrator_client: OrchestratorClient
) -> None:
    execution_id = await run(alice, await create(alice, trigger_only_graph()))
    await finished(alice, execution_id)
    page = await orchestrator_client.events_since(alice.id, execution_id, 0)
    assert [e.seq for e in page.events] == list(range(1, page.last_seq + 1))

    delivered: list[StatusEvent] = []
    sequencer = Sequencer(execution_id, 0, lambda live: delivered.append(live.event))
    sequencer.accept(LiveEvent(page.events[-1]))  # only the last came live: 1..n-1 are missing
    assert delivered == []
    await sequencer.catch_up(orchestrator_client, alice.id)
    assert delivered == page.events
    assert sequencer.finished


@pytest.mark.usefixtures("live_orchestrator")
async def test_republished_events_are_not_delivered_twice(alice: User, infra: Any) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    await finished(alice, execution_id)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "execution_id": execution_id, "after_seq": 0})
        replayed = []
        while not replayed or replayed[-1]["type"] != "execution.succeeded":
            replayed.append((await receive(ws))["event"])

        # The same events again, live and out of order, as a racing replica could send them.
        broker = RabbitBroker(infra.amqp_url)
        await broker.start()
        try:
            key = status_key(alice.id, workflow_id, execution_id)
            for event in reversed(replayed):
                await broker.publish(json.dumps(event), exchange=STATUS_EXCHANGE, routing_key=key)
        finally:
            await broker.stop()
        await asyncio.sleep(0.5)
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.usefixtures("live_orchestrator")
async def test_a_batch_reaches_a_websocket_subscriber_event_by_event(
    alice: User, infra: Any
) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    last_seq = (await finished(alice, execution_id))["last_seq"]
    tenant_id = (await alice.client.get("/api/me")).json()["tenant_id"]
    ids = (tenant_id, workflow_id, execution_id)
    # Seqs past the execution's own: only the live message can bring them, never a catch-up.
    batch = [_event(last_seq + n, "node.running", ids) for n in (1, 2, 3)]
    alone = _event(last_seq + 4, "node.succeeded", ids)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "execution_id": execution_id})
        # Sent once the status queue is bound to the execution: from now on, live events come.
        snapshot = await receive(ws)
        assert (snapshot["type"], snapshot["execution"]["last_seq"]) == ("snapshot", last_seq)
        broker = RabbitBroker(infra.amqp_url)
        await broker.start()
        try:
            key = status_key(tenant_id, workflow_id, execution_id)
            await broker.publish(_batch(*batch), exchange=STATUS_EXCHANGE, routing_key=key)
            await broker.publish(alone.model_dump_json(), exchange=STATUS_EXCHANGE, routing_key=key)
        finally:
            await broker.stop()
        frames = [await receive(ws) for _ in range(4)]
        assert [frame["type"] for frame in frames] == ["event"] * 4
        assert [frame["event"]["seq"] for frame in frames] == [e.seq for e in (*batch, alone)]
        assert frames[0]["event"] == batch[0].model_dump(mode="json")
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
