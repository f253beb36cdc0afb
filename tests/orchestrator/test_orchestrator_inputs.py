"""Inputs from outside that are valid JSON but awkward: each gets an answer, none wedges."""

from __future__ import annotations

import json
from typing import Any

from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import NodeResult, StartExecution, utcnow
from portico_contracts.queries import RpcReply
from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    EXECUTION_START,
    NODE_RESULT,
    RESULTS_EXCHANGE,
)
from tests.orchestrator.harness import TRIGGER, Bus, make_graph, new_id, runs_by_node


async def test_events_since_beyond_the_last_possible_seq_is_an_empty_page(bus: Bus) -> None:
    tenant = new_id("tenant")
    command, _ = await bus.start(make_graph([TRIGGER], []), tenant)
    reply = await bus.rpc(
        {
            "op": "events_since",
            "tenant_id": tenant,
            "execution_id": command.execution_id,
            "after_seq": 2**31,
        }
    )
    assert reply.error is None, reply
    assert reply.result == {"events": [], "last_seq": 3}


async def test_a_nul_character_in_a_query_is_an_invalid_request(bus: Bus) -> None:
    """PostgreSQL text cannot hold NUL; asking about one is the caller's mistake, not ours."""
    tenant = new_id("tenant")
    for op in ("get_execution", "events_since", "cancel_execution"):
        reply = await bus.rpc({"op": op, "tenant_id": tenant, "execution_id": "ex\x00"})
        assert reply.error is not None, (op, reply)
        assert reply.error.code == "invalid_request", (op, reply)
        assert "NUL" in reply.error.message
    listing = await bus.rpc({"op": "list_executions", "tenant_id": tenant, "workflow_id": "w\x00"})
    assert listing.error is not None
    assert listing.error.code == "invalid_request", listing


def start_body(graph: WorkflowGraph, tenant: str) -> dict[str, Any]:
    command = StartExecution(
        tenant_id=tenant,
        execution_id=new_id("ex"),
        workflow_id="wf",
        workflow_version=1,
        graph=graph,
        trigger_node_id="t",
    )
    body: dict[str, Any] = json.loads(command.model_dump_json())
    return body


async def start_raw(bus: Bus, raw: str) -> RpcReply:
    return await bus.request(
        raw.encode(), exchange=COMMANDS_EXCHANGE.name, routing_key=EXECUTION_START
    )


async def test_a_start_with_a_version_out_of_range_is_refused_with_a_reply(bus: Bus) -> None:
    body = start_body(make_graph([TRIGGER], []), new_id("tenant"))
    body["workflow_version"] = 2**31
    reply = await start_raw(bus, json.dumps(body))
    assert reply.error is not None, reply
    assert reply.error.code == "invalid_request"
    assert "workflow_version" in reply.error.message


async def test_non_finite_numbers_are_recorded_as_null(bus: Bus) -> None:
    """NaN, Infinity and 1e400 (which overflows) parse, but jsonb has no such numbers."""
    tenant = new_id("tenant")
    graph = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b")])
    body = start_body(graph, tenant)
    reply = await start_raw(bus, json.dumps(body).replace('"payload": null', '"payload": [NaN]'))
    assert reply.error is None, reply
    execution_id = body["execution_id"]
    await bus.ready(execution_id)
    result = NodeResult(
        tenant_id=tenant,
        execution_id=execution_id,
        node_id="a",
        attempt=1,
        status="succeeded",
        output=0,
        started_at=utcnow(),
        finished_at=utcnow(),
    )
    raw_result = result.model_dump_json().replace('"output":0', '"output":[1e400,-Infinity]')
    await bus.publish(
        RESULTS_EXCHANGE.name, NODE_RESULT, raw_result.encode(), content_type="application/json"
    )
    b = await bus.ready(execution_id)
    assert b.inputs == {"a": [None, None]}
    await bus.answer(b)
    execution = await bus.finished(tenant, execution_id)
    assert execution["payload"] == [None]
    assert runs_by_node(execution)["a"]["output"] == [None, None]
