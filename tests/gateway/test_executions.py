"""Runs and execution history through the real orchestrator (started as a process)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.gateway.conftest import User, create, finished, run, trigger_only_graph

pytestmark = pytest.mark.usefixtures("live_orchestrator")


async def test_run_is_readable_at_once_and_finishes(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    response = await alice.client.post(
        f"/api/workflows/{workflow_id}/run", json={"payload": {"name": "Ada"}}
    )
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["workflow_version"] == 1
    assert accepted["trigger_node_id"] == "start"
    # Read-your-writes: the 202 came after the orchestrator recorded the execution.
    first = await alice.client.get(f"/api/executions/{accepted['execution_id']}")
    assert first.status_code == 200, first.text
    assert first.json()["workflow_id"] == workflow_id

    execution = await finished(alice, accepted["execution_id"])
    assert execution["status"] == "succeeded"
    assert execution["payload"] == {"name": "Ada"}
    runs = {r["node_id"]: r for r in execution["node_runs"]}
    assert runs["start"]["output"] == {"name": "Ada"}


async def test_run_pins_the_requested_version_and_trigger(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph("v1"))
    two_triggers = trigger_only_graph("v2")
    two_triggers["nodes"].append({"id": "other", "type": "trigger.manual"})
    await alice.client.put(f"/api/workflows/{workflow_id}", json=two_triggers)

    old = await finished(alice, await run(alice, workflow_id, version=1))
    assert old["workflow_version"] == 1
    assert old["trigger_node_id"] == "start"
    new = await finished(alice, await run(alice, workflow_id, trigger_node_id="other"))
    assert new["workflow_version"] == 2
    assert new["trigger_node_id"] == "other"


async def test_list_filter_and_page(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    ids = [await run(alice, workflow_id, payload={"n": n}) for n in range(3)]
    for execution_id in ids:
        await finished(alice, execution_id)

    everything = await alice.client.get("/api/executions", params={"workflow_id": workflow_id})
    assert {item["id"] for item in everything.json()["items"]} == set(ids)
    page = (
        await alice.client.get("/api/executions", params={"workflow_id": workflow_id, "limit": 2})
    ).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = (
        await alice.client.get(
            "/api/executions",
            params={"workflow_id": workflow_id, "limit": 2, "cursor": page["next_cursor"]},
        )
    ).json()
    assert {i["id"] for i in page["items"] + rest["items"]} == set(ids)
    failed = await alice.client.get(
        "/api/executions", params={"workflow_id": workflow_id, "status": "failed"}
    )
    assert failed.json()["items"] == []
    bad_cursor = await alice.client.get("/api/executions", params={"cursor": "bm9wZQ"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["code"] == "invalid_request"


async def test_cancel_of_a_finished_execution_leaves_it(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    await finished(alice, execution_id)
    response = await alice.client.post(
        f"/api/executions/{execution_id}/cancel", json={"reason": "changed my mind"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"


async def test_executions_are_per_tenant(alice: User, bob: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    execution_id = await run(alice, workflow_id)
    await finished(alice, execution_id)
    for method, path in [
        ("GET", f"/api/executions/{execution_id}"),
        ("POST", f"/api/executions/{execution_id}/cancel"),
        ("POST", f"/api/workflows/{workflow_id}/run"),
    ]:
        response = await bob.client.request(method, path, json={"payload": {}})
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert (await bob.client.get("/api/executions")).json()["items"] == []
    filtered = await bob.client.get("/api/executions", params={"workflow_id": workflow_id})
    assert filtered.json()["items"] == []
    assert (await alice.client.get(f"/api/executions/{execution_id}")).status_code == 200


async def test_unknown_and_odd_execution_ids(alice: User) -> None:
    assert (await alice.client.get("/api/executions/no-such-execution")).status_code == 404
    odd = await alice.client.get("/api/executions/a%00b")
    assert odd.status_code == 422
    assert (await alice.client.get("/api/executions/" + "x" * 101)).status_code == 422


async def test_concurrent_runs_each_get_their_own_answer(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    ids = await asyncio.gather(*(run(alice, workflow_id, payload={"n": n}) for n in range(20)))
    assert len(set(ids)) == 20
    details = await asyncio.gather(*(finished(alice, execution_id) for execution_id in ids))
    assert sorted(d["payload"]["n"] for d in details) == list(range(20))
    assert all(d["status"] == "succeeded" for d in details)


async def test_bearer_key_can_run(alice: User, gateway_url: str) -> None:
    secret = (await alice.client.post("/api/api-keys", json={"name": "robot"})).json()["secret"]
    workflow_id = await create(alice, trigger_only_graph())
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers) as robot:
        response = await robot.post(f"/api/workflows/{workflow_id}/run", json={})
        assert response.status_code == 202
        detail = await robot.get(f"/api/executions/{response.json()['execution_id']}")
        assert detail.status_code == 200


async def test_workflow_list_shows_each_workflows_latest_execution(alice: User, bob: User) -> None:
    ran_twice = await create(alice, trigger_only_graph("Ran twice"))
    never_ran = await create(alice, trigger_only_graph("Never ran"))
    await finished(alice, await run(alice, ran_twice))
    latest = await finished(alice, await run(alice, ran_twice))

    listing = await alice.client.get("/api/workflows")
    assert listing.status_code == 200, listing.text
    items = {item["id"]: item for item in listing.json()["items"]}
    assert items[never_ran]["last_execution"] is None
    assert items[ran_twice]["last_execution"] == {
        "id": latest["id"],
        "status": "succeeded",
        "created_at": latest["created_at"],
        "started_at": latest["started_at"],
        "finished_at": latest["finished_at"],
    }
    # Another tenant's list knows nothing of them.
    assert (await bob.client.get("/api/workflows")).json()["items"] == []
