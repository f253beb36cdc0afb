"""Workflows over real HTTP: CRUD, immutable versions, export/import, validation errors."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.gateway.conftest import User, graph, graph_with_raw_json


async def _create(user: User, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await user.client.post("/api/workflows", json=body or graph())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_read_list(alice: User) -> None:
    created = await _create(alice, graph("First", description="what it does"))
    assert created["version"] == 1
    assert created["latest_version"] == 1
    assert created["name"] == "First"
    assert created["description"] == "what it does"
    # The stored graph is normalized: defaults are filled in.
    assert created["graph"]["nodes"][0]["position"] == {"x": 0.0, "y": 0.0}

    fetched = (await alice.client.get(f"/api/workflows/{created['id']}")).json()
    assert fetched == created

    listing = (await alice.client.get("/api/workflows")).json()
    assert listing["total"] == 1
    assert [item["id"] for item in listing["items"]] == [created["id"]]
    assert listing["items"][0]["latest_version"] == 1
    assert "graph" not in listing["items"][0]


async def test_put_saves_new_immutable_versions(alice: User) -> None:
    created = await _create(alice)
    workflow_id = created["id"]
    second = graph("Renamed")
    second["nodes"][1]["config"]["mapping"]["greeting"] = "Bye {{ trigger.name }}"
    updated = await alice.client.put(f"/api/workflows/{workflow_id}", json=second)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["name"] == "Renamed"

    versions = (await alice.client.get(f"/api/workflows/{workflow_id}/versions")).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert [v["name"] for v in versions] == ["Renamed", "Test flow"]

    first = (await alice.client.get(f"/api/workflows/{workflow_id}/versions/1")).json()
    assert first["graph"]["name"] == "Test flow"
    assert first["graph"]["nodes"][1]["config"]["mapping"]["greeting"] == "Hello {{ trigger.name }}"
    missing = await alice.client.get(f"/api/workflows/{workflow_id}/versions/3")
    assert missing.status_code == 404
    assert (await alice.client.get(f"/api/workflows/{workflow_id}/versions/0")).status_code == 422

    listing = (await alice.client.get("/api/workflows")).json()
    assert listing["items"][0]["latest_version"] == 2
    assert listing["items"][0]["name"] == "Renamed"


async def test_expected_version_detects_concurrent_edits(alice: User) -> None:
    workflow_id = (await _create(alice))["id"]
    path = f"/api/workflows/{workflow_id}"
    ok = await alice.client.put(path, params={"expected_version": 1}, json=graph("v2"))
    assert ok.status_code == 200
    stale = await alice.client.put(path, params={"expected_version": 1}, json=graph("v2 again"))
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    assert stale.json()["error"]["details"] == {"latest_version": 2}
    in_body = await alice.client.put(path, json={**graph("v3"), "expected_version": 2})
    assert in_body.status_code == 200
    assert in_body.json()["version"] == 3


async def test_delete_is_soft_and_hides_the_workflow(alice: User) -> None:
    workflow_id = (await _create(alice))["id"]
    assert (await alice.client.delete(f"/api/workflows/{workflow_id}")).status_code == 204
    assert (await alice.client.get(f"/api/workflows/{workflow_id}")).status_code == 404
    assert (await alice.client.delete(f"/api/workflows/{workflow_id}")).status_code == 404
    assert (await alice.client.get("/api/workflows")).json()["items"] == []


async def test_export_import_round_trip(alice: User) -> None:
    created = await _create(alice, graph("Portable"))
    exported = (await alice.client.get(f"/api/workflows/{created['id']}/export")).json()
    assert exported["format"] == "portico.workflow"
    assert exported["format_version"] == 1
    assert exported["source"] == {"workflow_id": created["id"], "version": 1}

    imported = await alice.client.post("/api/workflows/import", json=exported)
    assert imported.status_code == 201, imported.text
    assert imported.json()["id"] != created["id"]
    assert imported.json()["version"] == 1
    assert imported.json()["graph"] == created["graph"]

    bare = await alice.client.post("/api/workflows/import", json=graph("Bare"))
    assert bare.status_code == 201
    assert bare.json()["name"] == "Bare"

    unknown = await alice.client.post(
        "/api/workflows/import", json={"format": "n8n", "graph": graph()}
    )
    assert unknown.status_code == 422
    assert "unknown export format" in unknown.json()["error"]["message"]
    broken = copy.deepcopy(exported)
    broken["graph"]["edges"].append({"source": "shape", "target": "nowhere"})
    refused = await alice.client.post("/api/workflows/import", json=broken)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_workflow"


def _problems(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "invalid_workflow"
    problems: list[dict[str, Any]] = body["details"]
    for problem in problems:
        assert problem["message"] in body["message"]
    return problems


async def test_invalid_graphs_name_every_problem_and_node(alice: User) -> None:
    bad = {
        "name": "Broken",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "a", "type": "transform", "config": {"mapping": {"x": "{{ trigger."}}},
            {"id": "b", "type": "no.such.type"},
            {"id": "c", "type": "http", "config": {"method": "FETCH"}},
            {"id": "d", "type": "merge"},
            {"id": "e", "type": "merge"},
        ],
        "edges": [
            {"source": "start", "target": "a"},
            {"source": "a", "target": "ghost"},
            {"source": "d", "target": "e"},
            {"source": "e", "target": "d"},
        ],
    }
    problems = _problems(await alice.client.post("/api/workflows", json=bad))
    found = {(p["code"], p["node_id"]) for p in problems}
    assert ("invalid_template", "a") in found
    assert ("unknown_node_type", "b") in found
    assert ("invalid_config", "c") in found
    assert ("dangling_edge", "ghost") in found
    assert ("cycle", "d") in found
    fields = {p["field"] for p in problems if p["node_id"] == "c"}
    assert {"config.method", "config.url"} <= fields


async def test_invalid_shape_and_missing_trigger(alice: User) -> None:
    no_trigger = {"name": "x", "nodes": [{"id": "m", "type": "merge"}], "edges": []}
    assert [
        p["code"] for p in _problems(await alice.client.post("/api/workflows", json=no_trigger))
    ] == ["no_trigger"]
    shape = {"name": "", "nodes": [{"id": "1bad", "type": "merge"}], "extra": True}
    codes = {p["code"] for p in _problems(await alice.client.post("/api/workflows", json=shape))}
    assert codes == {"invalid_shape"}


async def test_put_of_invalid_graph_keeps_the_old_version(alice: User) -> None:
    workflow_id = (await _create(alice))["id"]
    cyclic = graph()
    cyclic["edges"].append({"source": "shape", "target": "shape"})
    _problems(await alice.client.put(f"/api/workflows/{workflow_id}", json=cyclic))
    assert (await alice.client.get(f"/api/workflows/{workflow_id}")).json()["version"] == 1


async def test_another_tenant_gets_404_and_sees_nothing(alice: User, bob: User) -> None:
    workflow_id = (await _create(alice))["id"]
    for method, path, body in [
        ("GET", f"/api/workflows/{workflow_id}", None),
        ("PUT", f"/api/workflows/{workflow_id}", graph()),
        ("DELETE", f"/api/workflows/{workflow_id}", None),
        ("GET", f"/api/workflows/{workflow_id}/versions", None),
        ("GET", f"/api/workflows/{workflow_id}/versions/1", None),
        ("GET", f"/api/workflows/{workflow_id}/export", None),
        ("POST", f"/api/workflows/{workflow_id}/run", {"payload": {}}),
    ]:
        response = await bob.client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert (await bob.client.get("/api/workflows")).json() == {"items": [], "total": 0}
    # The owner's workflow is untouched.
    assert (await alice.client.get(f"/api/workflows/{workflow_id}")).json()["version"] == 1


# Spellings Python's uuid.UUID accepts but that are not the ids this API hands out.
NON_CANONICAL_UUIDS = (
    "urn:uuid:12345678-1234-5678-1234-567812345678",
    "{12345678-1234-5678-1234-567812345678}",
    "12345678123456781234567812345678",
)


async def test_unknown_and_malformed_ids_are_404(alice: User) -> None:
    for workflow_id in (str(uuid.uuid4()), "not-a-uuid", "1' OR '1'='1", *NON_CANONICAL_UUIDS):
        response = await alice.client.get(f"/api/workflows/{workflow_id}")
        assert response.status_code == 404, response.text


async def test_run_refusals_before_any_orchestrator(alice: User) -> None:
    workflow_id = (await _create(alice))["id"]
    path = f"/api/workflows/{workflow_id}/run"
    unknown = await alice.client.post(path, json={"trigger_node_id": "nope"})
    assert unknown.status_code == 422
    assert "nope" in unknown.json()["error"]["message"]
    not_trigger = await alice.client.post(path, json={"trigger_node_id": "shape"})
    assert not_trigger.status_code == 422
    assert "not a trigger" in not_trigger.json()["error"]["message"]
    assert (await alice.client.post(path, json={"version": 9})).status_code == 404
    assert (await alice.client.post(path, json={"version": 0})).status_code == 422


async def test_unstorable_values_are_refused_naming_the_spot(alice: User) -> None:
    response = await alice.client.post(
        "/api/workflows",
        content=graph_with_raw_json("NaN"),
        headers={"content-type": "application/json"},
    )
    [problem] = _problems(response)
    assert problem["code"] == "unstorable_value"
    assert problem["node_id"] == "start"
    assert problem["field"] == "nodes.0.config.sample_payload.value"

    workflow_id = (await _create(alice))["id"]
    for payload in ('{"payload": {"x": Infinity}}', '{"payload": ["\\u0000"]}'):
        run = await alice.client.post(
            f"/api/workflows/{workflow_id}/run",
            content=payload,
            headers={"content-type": "application/json"},
        )
        assert run.status_code == 422, run.text
        assert run.json()["error"]["details"][0]["field"] == "body.payload"


async def test_list_searches_names_ignoring_case_and_wildcards(alice: User, bob: User) -> None:
    names = ["Invoice sync", "Nightly INVOICES", "100% done", "snake_case", "snakeXcase"]
    for name in names:
        await _create(alice, graph(name))
    await _create(bob, graph("Invoice of bob"))

    async def names_for(q: str) -> tuple[set[str], int]:
        response = await alice.client.get("/api/workflows", params={"q": q})
        assert response.status_code == 200, response.text
        body = response.json()
        return {item["name"] for item in body["items"]}, body["total"]

    assert await names_for("invoice") == ({"Invoice sync", "Nightly INVOICES"}, 2)
    assert await names_for("%") == ({"100% done"}, 1)  # a literal %, not "anything"
    assert await names_for("e_c") == ({"snake_case"}, 1)  # a literal _, not "any one"
    assert await names_for("nothing like it") == (set(), 0)
    assert await names_for("") == (set(names), len(names))  # empty: no filter
    page = await alice.client.get("/api/workflows", params={"q": "invoice", "limit": 1})
    assert (len(page.json()["items"]), page.json()["total"]) == (1, 2)

    too_long = await alice.client.get("/api/workflows", params={"q": "x" * 201})
    assert too_long.status_code == 422
    nul = await alice.client.get("/api/workflows", params={"q": "a\x00b"})
    assert nul.status_code == 422, nul.text


async def test_list_items_carry_a_last_execution_even_when_never_run(alice: User) -> None:
    created = await _create(alice)
    listing = (await alice.client.get("/api/workflows")).json()
    assert listing["items"][0]["id"] == created["id"]
    assert listing["items"][0]["last_execution"] is None
    # Only the list carries it: the detail is the workflow itself.
    assert (
        "last_execution" not in (await alice.client.get(f"/api/workflows/{created['id']}")).json()
    )
