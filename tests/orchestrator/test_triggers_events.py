"""Event triggers: topic patterns, one execution per event and workflow, bad bodies refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from portico_contracts.topology import DEAD_LETTER_REASON_HEADER, EVENTS_EXCHANGE
from portico_orchestrator.events import event_execution_id, event_key
from tests.orchestrator.conftest import Running
from tests.orchestrator.harness import Bus, new_id
from tests.orchestrator.test_triggers_registry import (
    activate,
    deactivate,
    event_graph,
    executions_of,
    payload_of,
    wait_for_rows,
)


async def publish_event(bus: Bus, routing_key: str, body: bytes, **props: Any) -> None:
    await bus.publish(EVENTS_EXCHANGE.name, routing_key, body, **props)


async def wait_for_executions(infra: Any, workflow_id: str, count: int) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        found = await executions_of(infra, workflow_id)
        if len(found) >= count:
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.05)


async def test_patterns_start_each_matching_workflow_once(
    bus: Bus, orchestrator: Running, infra: Any
) -> None:
    # A topic word of this test's own, so other tests' event triggers stay out of it.
    topic = new_id("orders")
    tenant_a, tenant_b = new_id("tenant"), new_id("tenant")
    one_word, any_words = new_id("wf"), new_id("wf")
    await activate(bus, tenant_a, one_word, event_graph(f"{topic}.*"))
    await activate(bus, tenant_b, any_words, event_graph(f"{topic}.#"))
    for workflow_id in (one_word, any_words):
        await wait_for_rows(infra, workflow_id, lambda rows: len(rows) == 1)

    created = json.dumps({"order": 42}).encode()
    await publish_event(
        bus, f"{topic}.created", created, message_id="evt-1", headers={"source": "shop"}
    )
    (first,) = await wait_for_executions(infra, one_word, 1)
    (second,) = await wait_for_executions(infra, any_words, 1)
    assert first["tenant_id"] == tenant_a
    assert second["tenant_id"] == tenant_b
    assert first["mode"] == "event"
    assert first["trigger_node_id"] == "e"
    assert first["id"] == event_execution_id(event_key("evt-1", "", b""), one_word, "e")
    output = payload_of(first)
    assert output["routing_key"] == f"{topic}.created"
    assert output["body"] == {"order": 42}
    assert output["headers"]["source"] == "shop"

    await publish_event(bus, f"{topic}.a.b", b'{"deep": true}', message_id="evt-2")
    await wait_for_executions(infra, any_words, 2)

    # The same event again (a publisher retrying): nothing new starts.
    await publish_event(bus, f"{topic}.created", created, message_id="evt-1")
    await publish_event(bus, f"{topic}.x", b"[1, 2]", message_id="evt-3")
    await publish_event(bus, f"{topic}.x", b"[1, 2]", message_id="evt-3")
    await wait_for_executions(infra, any_words, 3)
    await asyncio.sleep(0.5)
    assert len(await executions_of(infra, one_word)) == 2
    assert len(await executions_of(infra, any_words)) == 3

    for tenant, workflow_id in ((tenant_a, one_word), (tenant_b, any_words)):
        await deactivate(bus, tenant, workflow_id)
        await wait_for_rows(infra, workflow_id, lambda rows: rows == [])


async def test_a_body_that_is_not_json_is_dead_lettered(bus: Bus, orchestrator: Running) -> None:
    message_id = new_id("evt")
    await publish_event(bus, "orders.created", b"not json {", message_id=message_id)
    letter = await bus.dead_letters(message_id)
    reason = str((letter.headers or {})[DEAD_LETTER_REASON_HEADER])
    assert reason.startswith("JSONDecodeError"), reason


def test_an_event_without_message_id_is_known_by_its_routing_key_and_body() -> None:
    # aio-pika always sets a message id; other AMQP clients may not.
    assert event_key(None, "orders.x", b"[1]") == event_key("", "orders.x", b"[1]")
    assert event_key(None, "orders.x", b"[1]") != event_key(None, "orders.y", b"[1]")
    assert event_key(None, "orders.x", b"[1]") != event_key(None, "orders.x", b"[2]")
    assert event_key("m-1", "orders.x", b"[1]") == event_key("m-1", "orders.y", b"[2]")
