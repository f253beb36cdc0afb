"""Webhook URLs end to end: a real gateway and the real orchestrator, on the run's database
and vhost. The graphs end at the webhook node (or wait behind it), so no executor is needed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from .conftest import User, create, finished, gateway_settings, new_user, serve


def unique_path(label: str) -> str:
    return f"{label}/{uuid.uuid4().hex[:10]}"


def hook_graph(path: str, *, waiting: bool = False, **config: Any) -> dict[str, Any]:
    """A webhook node alone, or followed by a wait of an hour (`waiting`)."""
    nodes: list[dict[str, Any]] = [
        {"id": "hook", "type": "trigger.webhook", "config": {"path": path, **config}}
    ]
    edges = []
    if waiting:
        nodes.append({"id": "pause", "type": "wait", "config": {"seconds": 3600}})
        edges.append({"source": "hook", "target": "pause"})
    return {"name": "Webhook", "nodes": nodes, "edges": edges}


async def activated(user: User, body: dict[str, Any]) -> str:
    workflow_id = await create(user, body)
    response = await user.client.post(f"/api/workflows/{workflow_id}/activate")
    assert response.status_code == 200, response.text
    return workflow_id


def trigger_output(execution: dict[str, Any]) -> dict[str, Any]:
    runs = [run for run in execution["node_runs"] if run["node_id"] == "hook"]
    assert runs, execution
    output: dict[str, Any] = runs[0]["output"]
    return output


@pytest.fixture
async def ready(live_orchestrator: Any, alice: User) -> User:
    return alice


async def test_unknown_or_inactive_paths_are_404(alice: User, anon: httpx.AsyncClient) -> None:
    assert (await anon.post(f"/hooks/{unique_path('nowhere')}")).status_code == 404
    path = unique_path("inactive")
    workflow_id = await create(alice, hook_graph(path))
    assert (await anon.post(f"/hooks/{path}")).status_code == 404
    await alice.client.post(f"/api/workflows/{workflow_id}/activate")
    await alice.client.post(f"/api/workflows/{workflow_id}/deactivate")
    response = await anon.post(f"/hooks/{path}")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "webhook_not_found"


async def test_a_method_the_node_does_not_accept_is_405(
    alice: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("method")
    await activated(alice, hook_graph(path, methods=["PUT"]))
    response = await anon.post(f"/hooks/{path}", json={})
    assert response.status_code == 405, response.text
    assert "PUT" in response.json()["error"]["message"]


async def test_a_body_over_the_limit_is_413(alice: User, anon: httpx.AsyncClient) -> None:
    path = unique_path("big")
    await activated(alice, hook_graph(path))
    response = await anon.post(f"/hooks/{path}", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_ack_starts_an_execution_with_the_request_as_trigger_output(
    ready: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("ack")
    workflow_id = await activated(ready, hook_graph(path, methods=["POST", "PUT"]))
    sent: list[tuple[str, dict[str, Any], Any]] = [
        ("json", {"json": {"order": 7, "items": ["a"]}}, {"order": 7, "items": ["a"]}),
        ("form", {"data": {"name": "Ada", "empty": ""}}, {"name": "Ada", "empty": ""}),
        ("raw", {"content": b"plain words", "headers": {"Content-Type": "text/plain"}}, None),
    ]
    for label, request, expected_body in sent:
        headers = {
            "X-Custom": label,
            "Cookie": "session=secret",
            "Authorization": "Bearer secret",
            **request.pop("headers", {}),
        }
        response = await anon.put(f"/hooks/{path}", params={"q": label}, headers=headers, **request)
        assert response.status_code == 202, response.text
        execution = await finished(ready, response.json()["execution_id"])
        assert execution["status"] == "succeeded", execution
        assert (execution["mode"], execution["workflow_id"]) == ("webhook", workflow_id)
        assert execution["trigger_node_id"] == "hook"
        output = trigger_output(execution)
        assert (output["method"], output["path"], output["query"]) == ("PUT", path, {"q": label})
        assert output["headers"]["x-custom"] == label
        assert "cookie" not in output["headers"]
        assert "authorization" not in output["headers"]
        assert output["body"] == (expected_body if label != "raw" else "plain words")


async def test_wait_answers_with_the_named_node_status_and_headers(
    ready: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("wait")
    config: dict[str, Any] = {
        "respond": "wait",
        "response_node": "hook",
        "response_status": 201,
        "response_headers": {"X-Answered-By": "portico"},
    }
    await activated(ready, hook_graph(path, **config))
    response = await anon.post(f"/hooks/{path}", json={"hello": "world"})
    assert response.status_code == 201, response.text
    assert response.headers["x-answered-by"] == "portico"
    assert response.json()["body"] == {"hello": "world"}


async def test_wait_past_the_timeout_is_202_with_the_execution(
    ready: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("slow")
    await activated(ready, hook_graph(path, waiting=True, respond="wait", wait_timeout_s=1.0))
    response = await anon.post(f"/hooks/{path}", json={})
    assert response.status_code == 202, response.text
    execution_id = response.json()["execution_id"]
    detail = await ready.client.get(f"/api/executions/{execution_id}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"] not in ("succeeded", "failed")


async def test_too_many_webhook_requests_are_429(infra: Any) -> None:
    settings = gateway_settings(infra, rate_limit_webhooks_per_tenant="1/minute")
    async with serve(settings) as url:
        user = await new_user(url)
        try:
            path = unique_path("limited")
            await activated(user, hook_graph(path, methods=["GET"]))
            # GET without a running orchestrator: the first is accepted (the start command
            # stays queued), the second refused.
            await user.client.get(f"/hooks/{path}")
            response = await user.client.get(f"/hooks/{path}")
            assert response.status_code == 429, response.text
            assert int(response.headers["retry-after"]) >= 1
        finally:
            await user.client.aclose()


async def test_the_test_url_catches_one_request_while_listening(
    ready: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("listen")
    workflow_id = await create(ready, hook_graph(path))  # inactive: the test URL still works
    assert (await anon.post(f"/hooks/test/{path}")).status_code == 404  # nobody listens
    assert (await ready.client.get(f"/api/workflows/{workflow_id}/webhook-test")).status_code == 404

    response = await ready.client.post(f"/api/workflows/{workflow_id}/webhook-test")
    assert response.status_code == 200, response.text
    assert response.json()["listening"] is True
    assert response.json()["test_url"] == f"/hooks/test/{path}"

    caught = await anon.post(f"/hooks/test/{path}", params={"n": "1"}, json={"try": 1})
    assert caught.status_code == 202, caught.text
    execution_id = caught.json()["execution_id"]
    status = (await ready.client.get(f"/api/workflows/{workflow_id}/webhook-test")).json()
    assert status["listening"] is False
    assert status["execution_id"] == execution_id
    assert status["request"]["body"] == {"try": 1}
    assert status["request"]["query"] == {"n": "1"}
    execution = await finished(ready, execution_id)
    assert (execution["status"], execution["mode"]) == ("succeeded", "test")
    assert trigger_output(execution)["body"] == {"try": 1}
    # One request per listening.
    assert (await anon.post(f"/hooks/test/{path}")).status_code == 404


async def test_listening_needs_a_webhook_node_and_the_owner(alice: User, bob: User) -> None:
    manual = await create(
        alice, {"name": "Manual", "nodes": [{"id": "m", "type": "trigger.manual"}], "edges": []}
    )
    response = await alice.client.post(f"/api/workflows/{manual}/webhook-test")
    assert response.status_code == 422, response.text
    hooked = await create(alice, hook_graph(unique_path("owner")))
    response = await bob.client.post(f"/api/workflows/{hooked}/webhook-test")
    assert response.status_code == 404, response.text


async def test_wait_without_a_named_node_answers_with_the_last_to_finish(
    ready: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("last")
    await activated(ready, hook_graph(path, respond="wait"))
    response = await anon.post(
        f"/hooks/{path}", content=b"NaN", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["body"] == "NaN"  # not JSON PostgreSQL can store: kept as text


async def test_a_request_that_cannot_be_stored_is_422(alice: User, anon: httpx.AsyncClient) -> None:
    path = unique_path("nul")
    await activated(alice, hook_graph(path))
    response = await anon.post(f"/hooks/{path}", json={"text": "a\u0000b"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.text"


async def test_wait_for_an_execution_that_does_not_succeed_is_502(
    ready: User, anon: httpx.AsyncClient
) -> None:
    path = unique_path("cancelled")
    graph = hook_graph(path, waiting=True, respond="wait", wait_timeout_s=30.0)
    workflow_id = await activated(ready, graph)
    waiting = asyncio.create_task(anon.post(f"/hooks/{path}", json={}))
    execution_id = await _started(ready, workflow_id)
    cancelled = await ready.client.post(f"/api/executions/{execution_id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    response = await asyncio.wait_for(waiting, 20)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "execution_failed"
    assert response.json()["error"]["details"]["execution_id"] == execution_id


async def _started(user: User, workflow_id: str) -> str:
    """The id of the first execution of `workflow_id`, once the orchestrator recorded it."""
    for _ in range(200):
        page = await user.client.get("/api/executions", params={"workflow_id": workflow_id})
        assert page.status_code == 200, page.text
        if page.json()["items"]:
            execution_id: str = page.json()["items"][0]["id"]
            return execution_id
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no execution of {workflow_id} was recorded")
