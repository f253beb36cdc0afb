"""With no orchestrator at all: queries say 503, runs are still accepted and kept durably.

This gateway gets a RabbitMQ vhost of its own, so no orchestrator (ours or another test's)
can answer it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest

from portico_contracts.topology import COMMAND_START_QUEUE, ORCHESTRATOR_RPC_QUEUE_NAME
from tests.gateway.conftest import gateway_settings, new_user, serve, trigger_only_graph
from tests.harness.vhosts import private_vhost


@pytest.fixture(scope="module")
def lonely_amqp_url(infra: Any) -> Iterator[str]:
    with private_vhost(infra, "lonely", required=True) as url:
        yield url


@pytest.fixture
async def lonely_url(infra: Any, lonely_amqp_url: str) -> AsyncIterator[str]:
    settings = gateway_settings(infra, amqp_url=lonely_amqp_url, rpc_timeout_s=0.5)
    async with serve(settings) as url:
        yield url


async def test_queries_answer_503_and_runs_are_queued(
    lonely_url: str, lonely_amqp_url: str
) -> None:
    user = await new_user(lonely_url)
    try:
        for path in ("/api/executions", f"/api/executions/{uuid.uuid4()}"):
            response = await user.client.get(path)
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert error["code"] == "orchestrator_unavailable"
            assert "orchestrator" in error["message"]

        created = await user.client.post("/api/workflows", json=trigger_only_graph())
        run = await user.client.post(f"/api/workflows/{created.json()['id']}/run", json={})
        assert run.status_code == 202, run.text
        execution_id = run.json()["execution_id"]
    finally:
        await user.client.aclose()

    connection = await aio_pika.connect(lonely_amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(COMMAND_START_QUEUE.name, passive=True)
        message = await queue.get(no_ack=False, fail=True)
        assert message is not None
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert execution_id.encode() in message.body
        await message.nack(requeue=True)
    finally:
        await connection.close()


async def test_workflow_list_is_served_without_last_executions(
    lonely_url: str, lonely_amqp_url: str
) -> None:
    """The last execution decorates the list; no orchestrator must not take the list down,
    whether nothing listens on its queue or something takes requests and never answers."""
    user = await new_user(lonely_url)
    connection = await aio_pika.connect(lonely_amqp_url)
    try:
        created = await user.client.post("/api/workflows", json=trigger_only_graph())
        workflow_id = created.json()["id"]
        run = await user.client.post(f"/api/workflows/{workflow_id}/run", json={})
        assert run.status_code == 202, run.text

        unroutable = await user.client.get("/api/workflows")
        assert unroutable.status_code == 200, unroutable.text
        assert [item["last_execution"] for item in unroutable.json()["items"]] == [None]

        channel = await connection.channel()
        silent = await channel.declare_queue(ORCHESTRATOR_RPC_QUEUE_NAME, auto_delete=False)
        try:
            started = time.monotonic()
            unanswered = await user.client.get("/api/workflows")
            assert unanswered.status_code == 200, unanswered.text
            assert [item["last_execution"] for item in unanswered.json()["items"]] == [None]
            assert time.monotonic() - started < 5  # rpc_timeout_s is 0.5 here
        finally:
            await silent.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
        await user.client.aclose()
