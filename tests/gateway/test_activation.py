"""Activation: the flag on the workflow, the WorkflowActivated / WorkflowDeactivated commands
on `portico.commands` (caught by a queue of the test's own in a private vhost), and webhook
paths claimed across tenants."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest

from portico_contracts.messages import WorkflowActivated, WorkflowDeactivated
from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    WORKFLOW_ACTIVATED,
    WORKFLOW_DEACTIVATED,
)
from tests.harness.vhosts import private_vhost

from .conftest import User, create, gateway_settings, graph, new_user, serve


def webhook_graph(path: str, name: str = "Hooked") -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [{"id": "hook", "type": "trigger.webhook", "config": {"path": path}}],
        "edges": [],
    }


@dataclass
class Commands:
    """The activation commands the gateway publishes, in order."""

    queue: asyncio.Queue[tuple[str, dict[str, Any]]]

    async def next(self) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.queue.get(), 10)


@pytest.fixture(scope="module")
async def private(infra: Any) -> AsyncIterator[tuple[str, Commands]]:
    """A gateway on a vhost of its own (no orchestrator consumes there) and what it sends."""
    with private_vhost(infra, "activation", required=True) as amqp_url:
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            COMMANDS_EXCHANGE.name, aio_pika.ExchangeType.DIRECT, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        for key in (WORKFLOW_ACTIVATED, WORKFLOW_DEACTIVATED):
            await queue.bind(exchange, key)
        received: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            await received.put((message.routing_key or "", json.loads(message.body)))
            await message.ack()

        await queue.consume(on_message)
        try:
            async with serve(gateway_settings(infra, amqp_url=amqp_url)) as url:
                yield url, Commands(received)
        finally:
            await connection.close()


@pytest.fixture
async def carol(private: tuple[str, Commands]) -> AsyncIterator[User]:
    user = await new_user(private[0])
    yield user
    await user.client.aclose()


async def test_activate_and_deactivate_publish_and_set_the_flag(
    carol: User, private: tuple[str, Commands]
) -> None:
    commands = private[1]
    workflow_id = await create(carol, webhook_graph("act-flag"))
    assert (await carol.client.get(f"/api/workflows/{workflow_id}")).json()["active"] is False

    response = await carol.client.post(f"/api/workflows/{workflow_id}/activate")
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    key, body = await commands.next()
    activated = WorkflowActivated.model_validate(body)
    assert key == WORKFLOW_ACTIVATED
    assert (activated.workflow_id, activated.workflow_version) == (workflow_id, 1)
    assert activated.graph.nodes[0].id == "hook"
    listed = (await carol.client.get("/api/workflows")).json()["items"]
    assert [item["active"] for item in listed if item["id"] == workflow_id] == [True]

    response = await carol.client.post(f"/api/workflows/{workflow_id}/deactivate")
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    key, body = await commands.next()
    assert key == WORKFLOW_DEACTIVATED
    deactivated = WorkflowDeactivated.model_validate(body)
    assert deactivated.workflow_id == workflow_id
    # Each change counts up, so the orchestrator can tell a late message from a new one.
    assert deactivated.sequence == activated.sequence + 1


async def test_saving_an_active_workflow_activates_the_new_version(
    carol: User, private: tuple[str, Commands]
) -> None:
    commands = private[1]
    workflow_id = await create(carol, webhook_graph("act-save"))
    assert (await carol.client.post(f"/api/workflows/{workflow_id}/activate")).status_code == 200
    await commands.next()
    saved = await carol.client.put(
        f"/api/workflows/{workflow_id}", json=webhook_graph("act-save-2")
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["active"] is True
    key, body = await commands.next()
    assert key == WORKFLOW_ACTIVATED
    assert WorkflowActivated.model_validate(body).workflow_version == 2
    # The old path is free again, the new one is taken.
    other = await create(carol, webhook_graph("act-save"))
    assert (await carol.client.post(f"/api/workflows/{other}/activate")).status_code == 200
    await commands.next()


async def test_deleting_an_active_workflow_deactivates_it(
    carol: User, private: tuple[str, Commands]
) -> None:
    commands = private[1]
    workflow_id = await create(carol, webhook_graph("act-delete"))
    assert (await carol.client.post(f"/api/workflows/{workflow_id}/activate")).status_code == 200
    await commands.next()
    assert (await carol.client.delete(f"/api/workflows/{workflow_id}")).status_code == 204
    key, body = await commands.next()
    assert (key, body["workflow_id"]) == (WORKFLOW_DEACTIVATED, workflow_id)
    # Its path is free for another workflow.
    other = await create(carol, webhook_graph("act-delete"))
    assert (await carol.client.post(f"/api/workflows/{other}/activate")).status_code == 200
    await commands.next()


async def test_a_path_owned_by_another_workflow_is_a_409_naming_it(
    carol: User, private: tuple[str, Commands]
) -> None:
    commands = private[1]
    first = await create(carol, webhook_graph("act-taken"))
    assert (await carol.client.post(f"/api/workflows/{first}/activate")).status_code == 200
    await commands.next()
    dave = await new_user(private[0])  # another tenant: paths are global
    try:
        second = await create(dave, webhook_graph("act-taken"))
        response = await dave.client.post(f"/api/workflows/{second}/activate")
        assert response.status_code == 409, response.text
        assert "act-taken" in response.json()["error"]["message"]
        assert (await dave.client.get(f"/api/workflows/{second}")).json()["active"] is False
        # Saving an active workflow onto a taken path is refused the same way.
        third = await create(dave, webhook_graph("act-free"))
        assert (await dave.client.post(f"/api/workflows/{third}/activate")).status_code == 200
        await commands.next()
        moved = await dave.client.put(f"/api/workflows/{third}", json=webhook_graph("act-taken"))
        assert moved.status_code == 409, moved.text
    finally:
        await dave.client.aclose()


async def test_a_workflow_without_triggers_can_be_activated(
    carol: User, private: tuple[str, Commands]
) -> None:
    workflow_id = await create(carol, graph())
    response = await carol.client.post(f"/api/workflows/{workflow_id}/activate")
    assert response.status_code == 200, response.text
    key, _ = await private[1].next()
    assert key == WORKFLOW_ACTIVATED


async def test_reserved_or_duplicate_paths_are_refused(carol: User) -> None:
    reserved = await create(carol, webhook_graph("test/mine"))
    response = await carol.client.post(f"/api/workflows/{reserved}/activate")
    assert response.status_code == 422, response.text
    assert "test/" in response.json()["error"]["message"]
    twice = webhook_graph("act-twice")
    twice["nodes"].append(
        {"id": "hook2", "type": "trigger.webhook", "config": {"path": "act-twice"}}
    )
    duplicate = await create(carol, twice)
    response = await carol.client.post(f"/api/workflows/{duplicate}/activate")
    assert response.status_code == 422, response.text
    assert "hook2" in response.json()["error"]["message"]


async def test_another_tenant_cannot_activate(carol: User, private: tuple[str, Commands]) -> None:
    workflow_id = await create(carol, webhook_graph("act-private"))
    eve = await new_user(private[0])
    try:
        response = await eve.client.post(f"/api/workflows/{workflow_id}/activate")
        assert response.status_code == 404, response.text
    finally:
        await eve.client.aclose()
