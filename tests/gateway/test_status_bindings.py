"""A gateway receives only the status events something on it watches.

Its status queue is bound per watched execution (`status.<tenant>.*.<execution>`) and per
watched workflow (`status.<tenant>.<workflow>.*`), before the snapshot, and unbound when the
last watcher leaves; after a broker reconnect what is watched is bound again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker

from portico_contracts.messages import StatusEvent
from portico_contracts.topology import STATUS_EXCHANGE, progress_key, status_key
from portico_gateway.app import create_app
from portico_gateway.dependencies import GatewayState
from portico_gateway.status_bindings import StatusBindings
from tests.gateway.conftest import (
    connect,
    create,
    finished,
    gateway_settings,
    new_user,
    receive,
    run,
    send,
    serve,
    trigger_only_graph,
)


async def _until(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def own_gateway(infra: Any) -> AsyncIterator[tuple[str, FastAPI]]:
    settings = gateway_settings(infra)
    app = create_app(settings)
    async with serve(settings, app) as url:
        yield url, app


def _received(state: GatewayState) -> float:
    value = state.metrics.registry.get_sample_value("portico_gateway_status_events_total")
    return value or 0.0


@pytest.mark.usefixtures("live_orchestrator")
async def test_only_watched_executions_and_workflows_are_bound(
    own_gateway: tuple[str, FastAPI], infra: Any
) -> None:
    url, app = own_gateway
    state: GatewayState = app.state.gateway
    user = await new_user(url)
    broker = RabbitBroker(infra.amqp_url)
    await broker.start()
    try:
        workflow_id = await create(user, trigger_only_graph())
        execution_id = await run(user, workflow_id)
        await finished(user, execution_id)
        assert state.hub.bindings.bound == frozenset()  # nobody watches: nothing comes

        async def publish(execution: str) -> None:
            event = StatusEvent(
                tenant_id=user.id,
                execution_id=execution,
                workflow_id=workflow_id,
                seq=1,  # already covered by any snapshot: never sent to a client again
                type="execution.started",
                status="running",
            )
            key = status_key(user.id, workflow_id, execution)
            await broker.publish(event.model_dump_json(), exchange=STATUS_EXCHANGE, routing_key=key)

        async with connect(user) as ws:
            await send(ws, {"type": "subscribe", "execution_id": execution_id})
            assert (await receive(ws))["type"] == "snapshot"
            assert state.hub.bindings.bound == {
                status_key(user.id, "*", execution_id),
                progress_key(user.id, "*", execution_id),
            }
            before = _received(state)
            await publish("not-watched-here")
            await publish(execution_id)
            await _until(lambda: _received(state) >= before + 1)
            await asyncio.sleep(0.3)  # time enough for the unwatched one, had it been bound
            assert _received(state) == before + 1

            await send(ws, {"type": "unsubscribe", "execution_id": execution_id})
            await _until(lambda: not state.hub.bindings.bound)

            await send(ws, {"type": "subscribe", "workflow_id": workflow_id})
            assert (await receive(ws))["type"] == "snapshot"
            assert state.hub.bindings.bound == {
                status_key(user.id, workflow_id, "*"),
                progress_key(user.id, workflow_id, "*"),
            }
            # The workflow's executions, all of them: this one too, and a new one.
            before = _received(state)
            await publish(execution_id)
            await _until(lambda: _received(state) >= before + 1)
        # The socket closed: its subscriptions ended, so their bindings went.
        await _until(lambda: not state.hub.bindings.bound and not state.hub.bindings.wanted)
    finally:
        await broker.stop()
        await user.client.aclose()


async def _drain(queue: aio_pika.abc.AbstractQueue, wait_s: float) -> set[str]:
    """Routing keys of what reaches `queue` within `wait_s`."""
    keys: set[str] = set()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        keys.add(message.routing_key or "")
    return keys


async def test_bindings_are_settled_again_after_a_broker_reconnect(infra: Any) -> None:
    connection = await aio_pika.connect_robust(infra.amqp_url, reconnect_interval=0.2)
    publisher = await aio_pika.connect(infra.amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(
            STATUS_EXCHANGE.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        bindings = StatusBindings()
        bindings.attach(queue)
        left, stays, comes = (status_key("t", "*", name) for name in ("left", "stays", "comes"))
        await bindings.acquire([left, stays])

        reconnected = asyncio.Event()
        connection.reconnect_callbacks.add(lambda *_: reconnected.set())
        assert connection.transport is not None
        await connection.transport.connection.close()  # the broker went away
        # Watchers come and go meanwhile: these round trips may fail.
        bindings.release([left])
        watching = bindings.acquire([comes])
        await asyncio.wait_for(reconnected.wait(), 20)
        await watching
        await bindings.resettle()  # what the gateway's on_reconnected does first
        assert bindings.bound == {stays, comes}

        out = await (await publisher.channel()).get_exchange(STATUS_EXCHANGE.name)
        for name in ("left", "stays", "comes"):
            body = aio_pika.Message(b"{}")
            await out.publish(body, routing_key=status_key("t", "w", name))
        assert await _drain(queue, 1.0) == {status_key("t", "w", n) for n in ("stays", "comes")}
    finally:
        await publisher.close()
        await connection.close()
