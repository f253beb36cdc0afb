"""Triggers end to end, every service a process: signed webhooks over real HTTP, a per-second
schedule with three orchestrators, outside events published to `portico.events`, and
deactivation stopping all three."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import aio_pika
import pytest

from tests.e2e.client import Portico, node_runs
from tests.harness.cluster import LocalCluster

JSON = {"Content-Type": "application/json"}


def _trigger_graph(trigger: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [
            {"id": "start", **trigger},
            {"id": "reply", "type": "transform", "config": {"mapping": {"got": "{{ trigger }}"}}},
        ],
        "edges": [{"source": "start", "target": "reply"}],
    }


async def _activate(user: Portico, graph: dict[str, Any]) -> str:
    workflow_id = await user.create_workflow(graph)
    response = await user.http.post(f"/api/workflows/{workflow_id}/activate")
    assert response.status_code == 200, response.text
    return workflow_id


async def _deactivate(user: Portico, workflow_id: str) -> None:
    response = await user.http.post(f"/api/workflows/{workflow_id}/deactivate")
    assert response.status_code == 200, response.text


async def _executions(user: Portico, workflow_id: str) -> list[dict[str, Any]]:
    response = await user.http.get(
        "/api/executions", params={"workflow_id": workflow_id, "limit": 200}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


async def test_a_signed_webhook_answers_with_the_workflow_and_refuses_forgeries(
    cluster: LocalCluster, user: Portico
) -> None:
    secret = f"whsec_{uuid.uuid4().hex}"
    credential_id = await user.create_credential("hook secret", "hmac_secret", {"secret": secret})
    path = f"orders-{uuid.uuid4().hex[:8]}"
    trigger = {
        "type": "trigger.webhook",
        "credential_id": credential_id,
        "config": {
            "path": path,
            "auth": {"type": "hmac", "header": "X-Signature", "prefix": "sha256="},
            "respond": "wait",
            "response_node": "reply",
            "response_status": 201,
        },
    }
    workflow_id = await _activate(user, _trigger_graph(trigger, "signed hook"))
    body = json.dumps({"order": 42}).encode()
    url = f"/hooks/{path}?source=shop"

    signed = await user.http.post(
        url, content=body, headers={**JSON, "X-Signature": f"sha256={_sign(secret, body)}"}
    )
    forged = await user.http.post(
        url, content=body, headers={**JSON, "X-Signature": f"sha256={_sign('guess', body)}"}
    )
    unsigned = await user.http.post(url, content=body, headers=JSON)

    assert signed.status_code == 201, signed.text
    got = signed.json()["got"]
    assert got["body"] == {"order": 42}
    assert got["query"] == {"source": "shop"}
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert len(await _executions(user, workflow_id)) == 1  # the refused ones started nothing
    assert secret not in forged.text + unsigned.text

    await _deactivate(user, workflow_id)
    after = await user.http.post(
        url, content=body, headers={"X-Signature": f"sha256={_sign(secret, body)}"}
    )
    assert after.status_code == 404


async def test_a_stripe_event_is_verified_acknowledged_and_unpacked(
    cluster: LocalCluster, user: Portico
) -> None:
    secret = f"whsec_{uuid.uuid4().hex}"
    credential_id = await user.create_credential("stripe", "hmac_secret", {"secret": secret})
    path = f"stripe-{uuid.uuid4().hex[:8]}"
    trigger = {
        "type": "trigger.webhook",
        "credential_id": credential_id,
        "config": {"path": path, "auth": {"type": "stripe"}, "preset": "stripe"},
    }
    await _activate(user, _trigger_graph(trigger, "stripe hook"))
    event = {
        "id": "evt_1",
        "type": "invoice.paid",
        "livemode": False,
        "created": int(time.time()),
        "data": {"object": {"id": "in_1", "amount_paid": 4200}},
    }
    body = json.dumps(event).encode()
    stamp = int(time.time())
    header = f"t={stamp},v1={_sign(secret, f'{stamp}.'.encode() + body)}"

    response = await user.http.post(
        f"/hooks/{path}", content=body, headers={**JSON, "Stripe-Signature": header}
    )
    stale = await user.http.post(
        f"/hooks/{path}",
        content=body,
        headers={"Stripe-Signature": f"t={stamp - 3600},v1={_sign(secret, body)}"},
    )

    assert response.status_code == 202, response.text
    assert stale.status_code == 401
    record = await user.wait_finished(response.json()["execution_id"])
    got = node_runs(record)["reply"]["output"]["got"]
    assert (got["event_type"], got["object"]["amount_paid"]) == ("invoice.paid", 4200)


@pytest.fixture
def two_more_orchestrators(cluster: LocalCluster) -> Iterator[None]:
    extra = [
        subprocess.Popen(
            [sys.executable, "-m", "portico_orchestrator"],
            env=cluster.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    time.sleep(2)  # let them connect and start their schedule loops
    try:
        yield
    finally:
        for process in extra:
            process.terminate()
        for process in extra:
            process.wait(timeout=30)


@pytest.mark.usefixtures("two_more_orchestrators")
async def test_a_per_second_schedule_fires_once_per_slot_with_three_orchestrators(
    cluster: LocalCluster, user: Portico
) -> None:
    trigger = {"type": "trigger.cron", "config": {"expression": "* * * * * *"}}
    workflow_id = await _activate(user, _trigger_graph(trigger, "every second"))
    await asyncio.sleep(1)
    listed = (await user.http.get("/api/schedules", params={"workflow_id": workflow_id})).json()
    [schedule] = listed["items"]
    assert (schedule["node_id"], schedule["expression"]) == ("start", "* * * * * *")
    assert datetime.fromisoformat(schedule["next_fire_at"]) > datetime.now(UTC) - timedelta(
        seconds=2
    )
    await asyncio.sleep(4)
    await _deactivate(user, workflow_id)
    await asyncio.sleep(1.5)  # a slot claimed just before the deactivation may still start
    assert (await user.http.get("/api/schedules")).json()["items"] == []
    fired = await _executions(user, workflow_id)
    await asyncio.sleep(2)
    assert len(await _executions(user, workflow_id)) == len(fired)  # deactivation stops it

    records = [await user.execution(e["id"]) for e in fired]
    slots = sorted(
        datetime.fromisoformat(node_runs(r)["start"]["output"]["scheduled_for"]) for r in records
    )
    assert len(slots) >= 3
    assert len(set(slots)) == len(slots), "a slot fired twice"
    gaps = {(later - earlier).total_seconds() for earlier, later in pairwise(slots)}
    assert gaps == {1.0}, f"slots were missed: {slots}"


async def _publish(cluster: LocalCluster, routing_key: str, body: bytes) -> None:
    connection = await aio_pika.connect(cluster.infra.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("portico.events")
        message = aio_pika.Message(
            body, content_type="application/json", message_id=uuid.uuid4().hex
        )
        await exchange.publish(message, routing_key=routing_key)
    finally:
        await connection.close()


async def test_events_start_each_matching_active_workflow_once(
    cluster: LocalCluster, user: Portico
) -> None:
    topic = f"orders{uuid.uuid4().hex[:6]}"
    one_word = await _activate(
        user, _trigger_graph({"type": "trigger.event", "config": {"pattern": f"{topic}.*"}}, "one")
    )
    any_words = await _activate(
        user, _trigger_graph({"type": "trigger.event", "config": {"pattern": f"{topic}.#"}}, "any")
    )
    inactive = await user.create_workflow(
        _trigger_graph({"type": "trigger.event", "config": {"pattern": f"{topic}.*"}}, "off")
    )

    await _publish(cluster, f"{topic}.created", json.dumps({"order": 1}).encode())
    await _publish(cluster, f"{topic}.eu.created", json.dumps({"order": 2}).encode())
    await _publish(cluster, f"{topic}.created", b"not json")
    await asyncio.sleep(3)

    by_workflow = {w: await _executions(user, w) for w in (one_word, any_words, inactive)}
    assert [len(by_workflow[w]) for w in (one_word, any_words, inactive)] == [1, 2, 0]
    record = await user.wait_finished(by_workflow[one_word][0]["id"])
    got = node_runs(record)["reply"]["output"]["got"]
    assert (got["routing_key"], got["body"]) == (f"{topic}.created", {"order": 1})

    await _deactivate(user, any_words)
    await _publish(cluster, f"{topic}.created", json.dumps({"order": 3}).encode())
    await asyncio.sleep(2)
    assert len(await _executions(user, any_words)) == 2
    assert len(await _executions(user, one_word)) == 2
