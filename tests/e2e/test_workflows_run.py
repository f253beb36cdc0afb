"""From an API call to a finished, recorded execution, with every service a real process."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.client import Portico, node_runs, receive
from tests.e2e.outside import _Server


def signup_graph(api: str) -> dict[str, Any]:
    return {
        "name": "Enrich new signups",
        "nodes": [
            {"id": "signup", "type": "trigger.manual"},
            {
                "id": "lookup",
                "type": "http",
                "config": {"url": api + "/users", "query": {"email": "{{ trigger.email }}"}},
            },
            {
                "id": "is_vip",
                "type": "condition",
                "config": {
                    "rules": [
                        {
                            "value": "{{ nodes.lookup.output.body.plan }}",
                            "operator": "eq",
                            "compare_to": "enterprise",
                            "branch": "vip",
                        }
                    ],
                    "default_branch": "other",
                },
            },
            {
                "id": "vip_line",
                "type": "transform",
                "config": {"mapping": {"line": "Welcome, {{ nodes.lookup.output.body.name }}!"}},
            },
            {
                "id": "plain_line",
                "type": "transform",
                "config": {"expression": '{"line": "Hi " & nodes.lookup.output.body.name}'},
            },
            {"id": "join", "type": "merge"},
            {
                "id": "post",
                "type": "http",
                "config": {
                    "method": "POST",
                    "url": api + "/messages",
                    "body_type": "json",
                    "body": {"text": "{{ nodes.join.output | tojson }}"},
                },
            },
        ],
        "edges": [
            {"source": "signup", "target": "lookup"},
            {"source": "lookup", "target": "is_vip"},
            {"source": "is_vip", "target": "vip_line", "source_handle": "vip"},
            {"source": "is_vip", "target": "plain_line", "source_handle": "other"},
            {"source": "vip_line", "target": "join"},
            {"source": "plain_line", "target": "join"},
            {"source": "join", "target": "post"},
        ],
    }


async def test_branching_workflow_runs_and_records_every_node(
    user: Portico, outside: _Server
) -> None:
    workflow_id = await user.create_workflow(signup_graph(outside.url))
    execution_id = await user.run(workflow_id, {"email": "ada@example.com"})
    execution = await user.wait_finished(execution_id)

    assert execution["status"] == "succeeded", execution
    runs = node_runs(execution)
    assert runs["signup"]["output"] == {"email": "ada@example.com"}
    assert runs["lookup"]["output"]["body"]["plan"] == "enterprise"
    assert runs["is_vip"]["output"]["branch"] == "vip"
    assert runs["vip_line"]["output"] == {"line": "Welcome, Ada!"}
    assert runs["plain_line"]["status"] == "skipped"
    assert runs["join"]["output"] == {"vip_line": {"line": "Welcome, Ada!"}}
    assert runs["post"]["status"] == "succeeded"
    for run in runs.values():
        if run["status"] == "succeeded" and run["node_id"] != "signup":
            assert run["started_at"] <= run["finished_at"]


async def test_other_branch_and_history(user: Portico, outside: _Server) -> None:
    workflow_id = await user.create_workflow(signup_graph(outside.url))
    execution_id = await user.run(workflow_id, {"email": "bob@example.com"})
    execution = await user.wait_finished(execution_id)
    runs = node_runs(execution)
    assert runs["plain_line"]["output"] == {"line": "Hi Bob"}
    assert runs["vip_line"]["status"] == "skipped"

    listing = (await user.http.get("/api/executions", params={"workflow_id": workflow_id})).json()
    assert [item["id"] for item in listing["items"]] == [execution_id]
    assert listing["items"][0]["status"] == "succeeded"


async def test_websocket_streams_snapshot_then_ordered_events(
    user: Portico, outside: _Server
) -> None:
    workflow_id = await user.create_workflow(signup_graph(outside.url))
    async with await user.ws() as ws:
        await ws.send(json.dumps({"type": "subscribe", "workflow_id": workflow_id}))
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        execution_id = await user.run(workflow_id, {"email": "ada@example.com"})
        seqs: list[int] = []
        while True:
            frame = await receive(ws)
            assert frame["type"] == "event", frame
            event = frame["event"]
            assert event["execution_id"] == execution_id
            seqs.append(event["seq"])
            if event["type"].startswith("execution.") and event["status"] in (
                "succeeded",
                "failed",
                "cancelled",
            ):
                break
    assert event["type"] == "execution.succeeded"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_websocket_resume_after_reconnect_has_no_gap(user: Portico, outside: _Server) -> None:
    workflow_id = await user.create_workflow(signup_graph(outside.url))
    execution_id = await user.run(workflow_id, {"email": "ada@example.com"})
    await user.wait_finished(execution_id)
    async with await user.ws() as ws:
        await ws.send(
            json.dumps({"type": "subscribe", "execution_id": execution_id, "after_seq": 3})
        )
        replayed = []
        while True:
            frame = await receive(ws)
            assert frame["type"] == "event", frame
            replayed.append(frame["event"])
            if frame["event"]["type"] == "execution.succeeded":
                break
    assert [e["seq"] for e in replayed] == list(range(4, 4 + len(replayed)))


async def test_retries_then_error_edge(user: Portico, outside: _Server) -> None:
    graph = {
        "name": "retry then handle",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "flaky",
                "type": "http",
                "config": {"url": outside.url + "/flaky"},
                "retry": {"max_attempts": 3, "initial_delay_ms": 50, "multiplier": 2},
            },
            {
                "id": "broken",
                "type": "http",
                "config": {"url": outside.url + "/broken"},
                "retry": {"max_attempts": 2, "initial_delay_ms": 20},
            },
            {
                "id": "handle",
                "type": "transform",
                "config": {"mapping": {"why": "{{ input.broken.message }}"}},
            },
            {"id": "after_broken", "type": "transform", "config": {"mapping": {"x": 1}}},
        ],
        "edges": [
            {"source": "start", "target": "flaky"},
            {"source": "start", "target": "broken"},
            {"source": "broken", "target": "handle", "source_handle": "error"},
            {"source": "broken", "target": "after_broken"},
        ],
    }
    workflow_id = await user.create_workflow(graph)
    execution = await user.wait_finished(await user.run(workflow_id))
    runs = node_runs(execution)
    assert execution["status"] == "succeeded", execution
    assert runs["flaky"]["status"] == "succeeded"
    assert runs["flaky"]["attempt"] == 3
    assert runs["broken"]["status"] == "failed"
    assert runs["broken"]["attempt"] == 2
    assert runs["broken"]["error"]["retryable"] is True
    assert "500" in runs["handle"]["output"]["why"]
    assert runs["after_broken"]["status"] == "skipped"


async def test_unhandled_failure_fails_execution_and_cancels_the_rest(user: Portico) -> None:
    graph = {
        "name": "fails",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "bad", "type": "transform", "config": {"mapping": {"x": "{{ trigger.nope }}"}}},
            {"id": "never", "type": "transform", "config": {"mapping": {"x": 1}}},
            {"id": "slow", "type": "wait", "config": {"seconds": 5}},
        ],
        "edges": [
            {"source": "start", "target": "bad"},
            {"source": "bad", "target": "never"},
            {"source": "start", "target": "slow"},
        ],
    }
    workflow_id = await user.create_workflow(graph)
    execution = await user.wait_finished(await user.run(workflow_id))
    runs = node_runs(execution)
    assert execution["status"] == "failed"
    assert (
        "trigger.nope" in runs["bad"]["error"]["message"]
        or "nope" in runs["bad"]["error"]["message"]
    )
    assert runs["slow"]["status"] == "cancelled"
    assert runs.get("never", {"status": "cancelled"})["status"] in ("cancelled", "skipped")


async def test_on_error_continue_passes_the_error_on(user: Portico) -> None:
    graph = {
        "name": "continue",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "bad",
                "type": "transform",
                "on_error": "continue",
                "config": {"mapping": {"x": "{{ trigger.nope }}"}},
            },
            {
                "id": "next",
                "type": "transform",
                "config": {"mapping": {"saw": "{{ nodes.bad.output.type }}"}},
            },
        ],
        "edges": [{"source": "start", "target": "bad"}, {"source": "bad", "target": "next"}],
    }
    workflow_id = await user.create_workflow(graph)
    execution = await user.wait_finished(await user.run(workflow_id))
    runs = node_runs(execution)
    assert execution["status"] == "succeeded", execution
    assert runs["bad"]["status"] == "failed"
    assert runs["next"]["status"] == "succeeded"


async def test_cancel_a_running_execution(user: Portico) -> None:
    graph = {
        "name": "slow",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "pause", "type": "wait", "config": {"seconds": 20}},
            {"id": "after", "type": "merge"},
        ],
        "edges": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "after"}],
    }
    workflow_id = await user.create_workflow(graph)
    execution_id = await user.run(workflow_id)
    response = await user.http.post(f"/api/executions/{execution_id}/cancel")
    assert response.status_code in (200, 202), response.text
    execution = await user.wait_finished(execution_id, timeout_s=10)
    assert execution["status"] == "cancelled"
    assert node_runs(execution)["pause"]["status"] == "cancelled"
    again = await user.http.post(f"/api/executions/{execution_id}/cancel")
    assert again.status_code in (200, 202, 409)
    assert (await user.execution(execution_id))["status"] == "cancelled"


async def test_parallel_waits_run_at_once(user: Portico) -> None:
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "trigger.manual"},
        {"id": "join", "type": "merge"},
    ]
    edges = []
    for index in range(10):
        nodes.append({"id": f"w{index}", "type": "wait", "config": {"seconds": 0.5}})
        edges += [
            {"source": "start", "target": f"w{index}"},
            {"source": f"w{index}", "target": "join"},
        ]
    workflow_id = await user.create_workflow({"name": "fan out", "nodes": nodes, "edges": edges})
    execution = await user.wait_finished(await user.run(workflow_id))
    assert execution["status"] == "succeeded"
    runs = node_runs(execution)
    assert len(runs["join"]["output"]) == 10
    from datetime import datetime

    started = datetime.fromisoformat(execution["started_at"])
    finished = datetime.fromisoformat(execution["finished_at"])
    # Ten half-second waits one after another would take 5 s.
    assert (finished - started).total_seconds() < 3
