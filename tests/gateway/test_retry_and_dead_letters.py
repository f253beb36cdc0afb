"""POST /api/executions/{id}/retry and GET /api/dead-letters, through the real orchestrator."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aio_pika
import pytest

from portico_contracts.topology import NODE_RESULT, RESULTS_EXCHANGE
from tests.gateway.conftest import User, create, finished, graph, run, trigger_only_graph

pytestmark = pytest.mark.usefixtures("live_orchestrator")


async def _cancelled_execution(user: User) -> tuple[str, str]:
    """(workflow id, execution id) of a run cancelled while its transform waited: these
    tests start no executor, so it never finishes by itself."""
    workflow_id = await create(user, graph())
    execution_id = await run(user, workflow_id, payload={"name": "Ada"})
    cancelled = await user.client.post(f"/api/executions/{execution_id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    assert (await finished(user, execution_id))["status"] in ("cancelled", "failed")
    return workflow_id, execution_id


async def test_retry_starts_a_new_execution_linked_to_the_old(alice: User) -> None:
    workflow_id, execution_id = await _cancelled_execution(alice)
    response = await alice.client.post(f"/api/executions/{execution_id}/retry")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["retry_of"] == execution_id
    assert body["execution_id"] != execution_id
    uuid.UUID(body["execution_id"])
    retried = await alice.client.get(f"/api/executions/{body['execution_id']}")
    assert retried.status_code == 200, retried.text
    assert retried.json()["retry_of"] == execution_id
    assert retried.json()["workflow_id"] == workflow_id
    assert retried.json()["payload"] == {"name": "Ada"}
    await alice.client.post(f"/api/executions/{body['execution_id']}/cancel", json={})


async def test_a_retry_under_an_idempotency_key_starts_once(alice: User) -> None:
    workflow_id, execution_id = await _cancelled_execution(alice)
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = await alice.client.post(f"/api/executions/{execution_id}/retry", headers=key)
    again = await alice.client.post(f"/api/executions/{execution_id}/retry", headers=key)
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert first.json() == again.json()
    page = await alice.client.get("/api/executions", params={"workflow_id": workflow_id})
    retries = [e for e in page.json()["items"] if e.get("retry_of") == execution_id]
    assert [e["id"] for e in retries] == [first.json()["execution_id"]]
    await alice.client.post(f"/api/executions/{first.json()['execution_id']}/cancel", json={})

    _, other = await _cancelled_execution(alice)
    reused = await alice.client.post(f"/api/executions/{other}/retry", headers=key)
    assert reused.status_code == 422, reused.text
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


async def test_only_failed_or_cancelled_executions_are_retried(alice: User, bob: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    succeeded = await run(alice, workflow_id)
    assert (await finished(alice, succeeded))["status"] == "succeeded"
    response = await alice.client.post(f"/api/executions/{succeeded}/retry")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "failed or cancelled" in error["message"]

    _, cancelled = await _cancelled_execution(alice)
    for path in (f"/api/executions/{uuid.uuid4()}/retry", f"/api/executions/{cancelled}/retry"):
        response = await bob.client.post(path)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert (await alice.client.post("/api/executions/a%00b/retry")).status_code == 422


async def _dead_letter_for(infra: Any, tenant_id: str, execution_id: str) -> None:
    """A node.result the orchestrator cannot read: it dead-letters it with the reason."""
    body = {
        "tenant_id": tenant_id,
        "execution_id": execution_id,
        "node_id": "shape",
        "attempt": 1,
        "status": "exploded",
    }
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(RESULTS_EXCHANGE.name)
        message = aio_pika.Message(json.dumps(body).encode(), content_type="application/json")
        await exchange.publish(message, routing_key=NODE_RESULT)
    finally:
        await connection.close()


async def test_dead_letters_are_listed_per_tenant(infra: Any, alice: User, bob: User) -> None:
    tenant_id = (await alice.client.get("/api/me")).json()["tenant_id"]
    _, execution_id = await _cancelled_execution(alice)
    await _dead_letter_for(infra, tenant_id, execution_id)
    deadline = time.monotonic() + 20
    while True:
        page = await alice.client.get("/api/dead-letters", params={"execution_id": execution_id})
        assert page.status_code == 200, page.text
        if page.json()["items"]:
            break
        assert time.monotonic() < deadline, "the dead letter never showed up"
        await asyncio.sleep(0.2)
    letter = page.json()["items"][0]
    assert letter["execution_id"] == execution_id
    assert letter["reason"]

    everything = (await alice.client.get("/api/dead-letters", params={"limit": 1})).json()
    assert len(everything["items"]) == 1
    other = await alice.client.get("/api/dead-letters", params={"execution_id": str(uuid.uuid4())})
    assert other.json() == {"items": [], "next_cursor": None}
    assert (await bob.client.get("/api/dead-letters")).json()["items"] == []
    bad_queries: list[dict[str, Any]] = [
        {"limit": 0},
        {"limit": 201},
        {"cursor": "nope nope"},
        {"cursor": "abc"},  # well-formed, but not a cursor the orchestrator gave out
        {"execution_id": "a\x00"},
    ]
    for bad in bad_queries:
        response = await alice.client.get("/api/dead-letters", params=bad)
        assert response.status_code == 422, (bad, response.text)
