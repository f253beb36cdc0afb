"""Live node progress over the WebSocket: `progress.<tenant>.<workflow>.<execution>` messages on
the status exchange reach the sockets that follow that execution or workflow, of that tenant
only, as `progress` frames outside the seq order (a gap in them never causes a resync).

Also: execution records carry the token usage and cost the orchestrator reports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from portico_contracts.messages import NodeProgress
from portico_contracts.topology import STATUS_EXCHANGE, progress_key
from portico_gateway.hub import LiveEvent, StatusHub
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

# --- the hub alone ----------------------------------------------------------------------------


class _Listener:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.events: list[LiveEvent] = []
        self.progress: list[NodeProgress] = []
        self.resyncs = 0

    def offer(self, event: LiveEvent) -> None:
        self.events.append(event)

    def offer_progress(self, progress: NodeProgress) -> None:
        self.progress.append(progress)

    def resync(self) -> None:
        self.resyncs += 1


def _chunk(index: int, tenant_id: str = "t", execution_id: str = "e") -> NodeProgress:
    return NodeProgress(
        tenant_id=tenant_id,
        execution_id=execution_id,
        workflow_id="w",
        node_id="ask",
        attempt=1,
        index=index,
        text=f"part {index} ",
    )


def test_hub_routes_progress_by_execution_and_workflow_within_the_tenant() -> None:
    hub = StatusHub()
    by_execution, by_workflow, stranger = _Listener("t"), _Listener("t"), _Listener("other")
    hub.add_execution("e", by_execution)
    hub.add_workflow("w", by_workflow)
    hub.add_execution("e", stranger)
    for index in (0, 3):  # a gap: passed on as it is
        hub.feed(progress_key("t", "w", "e"), _chunk(index).model_dump_json().encode())
    assert [p.index for p in by_execution.progress] == [0, 3]
    assert [p.index for p in by_workflow.progress] == [0, 3]
    assert stranger.progress == []
    listeners = (by_execution, by_workflow, stranger)
    assert all(not listener.events and not listener.resyncs for listener in listeners)


def test_progress_nobody_watches_is_dropped_by_its_routing_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = StatusHub()
    hub.add_execution("e", _Listener("t"))
    with caplog.at_level(logging.WARNING, logger="portico.gateway.hub"):
        hub.feed(progress_key("t", "w2", "unwatched"), b"not even JSON")
        assert not caplog.records  # never parsed
        hub.feed(progress_key("t", "w", "e"), b"not even JSON")
    assert "unreadable node progress" in caplog.text


# --- through RabbitMQ and the WebSocket --------------------------------------------------------


@pytest.fixture
async def status_exchange(infra: Any) -> AsyncIterator[aio_pika.abc.AbstractExchange]:
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        channel = await connection.channel()
        yield await channel.get_exchange(STATUS_EXCHANGE.name, ensure=False)
    finally:
        await connection.close()


async def _tenant(user: User) -> str:
    tenant_id: str = (await user.client.get("/api/me")).json()["tenant_id"]
    return tenant_id


async def _publish(exchange: aio_pika.abc.AbstractExchange, progress: NodeProgress) -> None:
    key = progress_key(progress.tenant_id, progress.workflow_id, progress.execution_id)
    await exchange.publish(aio_pika.Message(progress.model_dump_json().encode()), key)


def _progress(
    tenant_id: str, workflow_id: str, execution_id: str, index: int, text: str = "chunk"
) -> NodeProgress:
    return NodeProgress(
        tenant_id=tenant_id,
        workflow_id=workflow_id,
        execution_id=execution_id,
        node_id="ask",
        attempt=1,
        index=index,
        text=text,
    )


async def _frames_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every frame the socket gets before the answer to a ping sent now."""
    await send(ws, {"type": "ping"})
    frames = []
    while (frame := await receive(ws))["type"] != "pong":
        frames.append(frame)
    return frames


async def _wait_for_progress(ws: ClientConnection) -> dict[str, Any]:
    frame = await receive(ws)
    assert frame["type"] == "progress", frame
    progress: dict[str, Any] = frame["progress"]
    return progress


@pytest.fixture
async def finished_run(live_orchestrator: object, alice: User) -> tuple[str, str]:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    await finished(alice, execution_id)
    return workflow_id, execution_id


async def test_an_execution_subscriber_gets_progress_frames(
    alice: User,
    bob: User,
    finished_run: tuple[str, str],
    status_exchange: aio_pika.abc.AbstractExchange,
) -> None:
    workflow_id, execution_id = finished_run
    tenant_id = await _tenant(alice)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "execution_id": execution_id})
        assert (await receive(ws))["type"] == "snapshot"
        # The same ids under another tenant never reach alice: the tenant is checked.
        await _publish(status_exchange, _progress(await _tenant(bob), workflow_id, execution_id, 0))
        await _publish(status_exchange, _progress(tenant_id, workflow_id, execution_id, 0, "He"))
        first = await _wait_for_progress(ws)
        assert first["text"] == "He"
        assert first["index"] == 0
        assert first["node_id"] == "ask"
        assert first["execution_id"] == execution_id
        assert first["type"] == "node.progress"
        # Chunk 1 is lost: chunk 2 still comes, and nothing else (no resync, no error).
        await _publish(status_exchange, _progress(tenant_id, workflow_id, execution_id, 2, "o"))
        assert (await _wait_for_progress(ws))["index"] == 2
        assert await _frames_until_pong(ws) == []


async def test_a_workflow_subscriber_gets_progress_once(
    alice: User,
    finished_run: tuple[str, str],
    status_exchange: aio_pika.abc.AbstractExchange,
) -> None:
    workflow_id, execution_id = finished_run
    tenant_id = await _tenant(alice)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "workflow_id": workflow_id})
        assert (await receive(ws))["type"] == "snapshot"
        await _publish(status_exchange, _progress(tenant_id, workflow_id, execution_id, 0))
        assert (await _wait_for_progress(ws))["workflow_id"] == workflow_id

        # Following the execution too: its own subscription sends the chunk, the workflow's
        # does not send it again.
        await send(ws, {"type": "subscribe", "execution_id": execution_id})
        assert (await receive(ws))["type"] == "snapshot"
        await _publish(status_exchange, _progress(tenant_id, workflow_id, execution_id, 1))
        assert (await _wait_for_progress(ws))["index"] == 1
        assert await _frames_until_pong(ws) == []


async def test_execution_records_carry_usage_and_cost(
    alice: User, finished_run: tuple[str, str], gateway_url: str
) -> None:
    workflow_id, execution_id = finished_run
    detail = (await alice.client.get(f"/api/executions/{execution_id}")).json()
    assert detail["usage"] == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    assert detail["cost_usd"] == 0
    page = await alice.client.get("/api/executions", params={"workflow_id": workflow_id})
    assert page.json()["items"][0]["usage"]["total_tokens"] == 0
    assert page.json()["items"][0]["cost_usd"] == 0

    async with httpx.AsyncClient(base_url=gateway_url) as anon:
        schemas = (await anon.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("ExecutionSummary", "ExecutionDetail"):
        assert {"usage", "cost_usd"} <= set(schemas[name]["properties"]), name
    assert set(schemas["TokenUsage"]["properties"]) == {
        "input_tokens",
        "output_tokens",
        "total_tokens",
    }


async def test_progress_waits_for_the_snapshot(
    alice: User,
    finished_run: tuple[str, str],
    status_exchange: aio_pika.abc.AbstractExchange,
) -> None:
    # Published while nobody here follows the execution: dropped, not queued for later.
    workflow_id, execution_id = finished_run
    tenant_id = await _tenant(alice)
    await _publish(status_exchange, _progress(tenant_id, workflow_id, execution_id, 0))
    await asyncio.sleep(0.3)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "execution_id": execution_id})
        assert (await receive(ws))["type"] == "snapshot"
        assert await _frames_until_pong(ws) == []
