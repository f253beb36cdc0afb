"""The /api/ws WebSocket over a real socket: auth, protocol errors, snapshots, live events."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import websockets
from faststream.rabbit import RabbitBroker

from portico_contracts.topology import STATUS_EXCHANGE, status_key
from tests.gateway.conftest import (
    User,
    connect,
    create,
    events_until_terminal,
    finished,
    receive,
    run,
    send,
    trigger_only_graph,
)


def assert_contiguous(events: list[dict[str, Any]], first: int) -> None:
    assert [e["seq"] for e in events] == list(range(first, first + len(events)))


# --- needs only the gateway -------------------------------------------------------------------


async def test_refuses_without_credentials(alice: User) -> None:
    async with connect(alice, headers={}) as ws:
        frame = await receive(ws)
        assert frame["type"] == "error"
        assert frame["code"] == "unauthenticated"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_api_key_by_header_or_query(alice: User) -> None:
    secret = (await alice.client.post("/api/api-keys", json={"name": "ws"})).json()["secret"]
    for query, headers in [
        (f"?api_key={secret}", {}),
        ("", {"Authorization": f"Bearer {secret}"}),
    ]:
        async with connect(alice, query=query, headers=headers) as ws:
            await send(ws, {"type": "ping"})
            assert await receive(ws) == {"type": "pong"}
    async with connect(alice, query="?api_key=pk_wrong_wrong_wrong_wrong", headers={}) as ws:
        assert (await receive(ws))["code"] == "unauthenticated"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_api_key_in_the_query_is_not_logged(alice: User) -> None:
    secret = (await alice.client.post("/api/api-keys", json={"name": "ws"})).json()["secret"]
    # uvicorn logs every WebSocket's path and query string at INFO on this logger.
    uvicorn_log = logging.getLogger("uvicorn.error")
    records, level = _Records(), uvicorn_log.level
    uvicorn_log.addHandler(records)
    uvicorn_log.setLevel(logging.INFO)
    try:
        for query in (f"?api_key={secret}", f"?x=1&%61pi%5Fkey={secret}"):
            async with connect(alice, query=query, headers={}) as ws:
                await send(ws, {"type": "ping"})
                assert await receive(ws) == {"type": "pong"}
    finally:
        uvicorn_log.removeHandler(records)
        uvicorn_log.setLevel(level)
    accepted = [m for m in records.messages if "/api/ws" in m]
    assert len(accepted) == 2, records.messages
    assert not [m for m in records.messages if secret in m or secret[3:] in m]


async def test_cookie_sockets_from_foreign_pages_are_refused(alice: User) -> None:
    headers = {"Cookie": alice.cookie_header, "Origin": "https://evil.example"}
    async with connect(alice, headers=headers) as ws:
        assert (await receive(ws))["code"] == "forbidden_origin"
    own = alice.base_url
    async with connect(alice, headers={"Cookie": alice.cookie_header, "Origin": own}) as ws:
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '{"type": "dance"}',
        '{"type": "subscribe"}',
        '{"type": "subscribe", "execution_id": "a", "workflow_id": "b"}',
        '{"type": "subscribe", "execution_id": "a", "after_seq": -1}',
        '{"type": "subscribe", "execution_id": "a\\u0000b"}',
        '{"type": "unsubscribe", "execution_id": 5}',
        "x" * 20_000,
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays(alice: User, frame: str) -> None:
    async with connect(alice) as ws:
        await ws.send(frame)
        error = await receive(ws)
        assert error["type"] == "error"
        assert error["code"] == "bad_frame"
        assert error["message"]
        await ws.send(b"binary")
        assert (await receive(ws))["code"] == "bad_frame"
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_foreign_workflow_is_not_found(alice: User, bob: User) -> None:
    workflow_id = (await alice.client.post("/api/workflows", json=trigger_only_graph())).json()[
        "id"
    ]
    async with connect(bob) as ws:
        for target in (
            workflow_id,
            "00000000-0000-0000-0000-000000000000",
            "urn:uuid:" + workflow_id,  # not an id we hand out, though uuid.UUID parses it
        ):
            await send(ws, {"type": "subscribe", "workflow_id": target})
            frame = await receive(ws)
            assert frame == {
                "type": "error",
                "code": "not_found",
                "message": frame["message"],
                "workflow_id": target,  # names the subscription it refused
            }


# --- with the real orchestrator ------------------------------------------------------------------


@pytest.mark.usefixtures("live_orchestrator")
async def test_workflow_subscription_streams_new_executions(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    earlier = await run(alice, workflow_id)
    await finished(alice, earlier)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "workflow_id": workflow_id})
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert [e["id"] for e in snapshot["executions"]] == [earlier]
        assert snapshot["executions"][0]["status"] == "succeeded"

        execution_id = await run(alice, workflow_id, payload={"live": True})
        events = await events_until_terminal(ws)
        assert {e["execution_id"] for e in events} == {execution_id}
        assert_contiguous(events, 1)
        assert events[-1]["type"] == "execution.succeeded"


@pytest.mark.usefixtures("live_orchestrator")
async def test_execution_snapshot_replay_and_resume(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    await finished(alice, execution_id)
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "execution_id": execution_id})
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["execution"]["id"] == execution_id
        assert snapshot["execution"]["status"] == "succeeded"
        last_seq = snapshot["execution"]["last_seq"]
        assert last_seq >= 2

        # Resubscribing replaces the subscription: replay everything from the start.
        await send(ws, {"type": "subscribe", "execution_id": execution_id, "after_seq": 0})
        replayed = await events_until_terminal(ws)
        assert_contiguous(replayed, 1)
        assert replayed[-1]["seq"] == last_seq

        await send(ws, {"type": "subscribe", "execution_id": execution_id, "after_seq": 1})
        resumed = await events_until_terminal(ws)
        assert resumed == replayed[1:]

        await send(ws, {"type": "unsubscribe", "execution_id": execution_id})
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.usefixtures("live_orchestrator")
async def test_live_execution_subscription_has_no_gaps(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    async with connect(alice) as watcher, connect(alice) as follower:
        await send(watcher, {"type": "subscribe", "workflow_id": workflow_id})
        assert (await receive(watcher))["type"] == "snapshot"
        execution_id = await run(alice, workflow_id)
        first = (await receive(watcher))["event"]
        assert first["execution_id"] == execution_id
        # Subscribing mid-flight: the snapshot, then exactly the events after it.
        await send(follower, {"type": "subscribe", "execution_id": execution_id})
        snapshot = await receive(follower)
        assert snapshot["type"] == "snapshot"
        if snapshot["execution"]["status"] not in ("succeeded", "failed", "cancelled"):
            assert_contiguous(
                await events_until_terminal(follower), snapshot["execution"]["last_seq"] + 1
            )


@pytest.mark.usefixtures("live_orchestrator")
async def test_foreign_execution_is_not_found(alice: User, bob: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    async with connect(bob) as ws:
        for frame in (
            {"type": "subscribe", "execution_id": execution_id},
            {"type": "subscribe", "execution_id": execution_id, "after_seq": 0},
        ):
            await send(ws, frame)
            error = await receive(ws)
            assert error == {
                "type": "error",
                "code": "not_found",
                "message": error["message"],
                "execution_id": execution_id,
            }


def waiting_graph(name: str = "Waits") -> dict[str, Any]:
    """Stays running until cancelled: its wait node sleeps an hour (or waits for an executor)."""
    return {
        "name": name,
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "pause", "type": "wait", "config": {"seconds": 3600}},
        ],
        "edges": [{"source": "start", "target": "pause"}],
    }


@pytest.mark.usefixtures("live_orchestrator")
async def test_leaving_an_execution_does_not_repeat_its_events_on_the_workflow(
    alice: User, infra: Any
) -> None:
    workflow_id = await create(alice, waiting_graph())
    async with connect(alice) as ws:
        await send(ws, {"type": "subscribe", "workflow_id": workflow_id})
        assert (await receive(ws))["type"] == "snapshot"
        execution_id = await run(alice, workflow_id)
        # Follow the execution directly as well: from now on its events come through that.
        await send(ws, {"type": "subscribe", "execution_id": execution_id})
        seen: list[int] = []
        while (frame := await receive(ws))["type"] != "snapshot":
            seen.append(frame["event"]["seq"])
        seen += range(len(seen) + 1, frame["execution"]["last_seq"] + 1)

        cancelled = await alice.client.post(f"/api/executions/{execution_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        events = await events_until_terminal(ws)
        seen += [event["seq"] for event in events]
        assert seen == list(range(1, len(seen) + 1))

        # Leave the execution; the workflow subscription must not send its events again,
        # not even when one comes by once more (a redelivery, a racing replica).
        await send(ws, {"type": "unsubscribe", "execution_id": execution_id})
        broker = RabbitBroker(infra.amqp_url)
        await broker.start()
        try:
            key = status_key(alice.id, workflow_id, execution_id)
            await broker.publish(events[-1], exchange=STATUS_EXCHANGE, routing_key=key)
        finally:
            await broker.stop()
        await asyncio.sleep(1.0)  # past the gap grace period, so a catch-up would have run
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
