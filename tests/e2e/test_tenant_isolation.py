"""A second user can neither read, list, run, cancel nor subscribe to the first user's things."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.client import Portico, receive

GRAPH: dict[str, Any] = {
    "name": "private",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "pause", "type": "wait", "config": {"seconds": 10}},
    ],
    "edges": [{"source": "start", "target": "pause"}],
}


async def test_second_user_sees_nothing_of_the_first(user: Portico, other_user: Portico) -> None:
    workflow_id = await user.create_workflow(GRAPH)
    execution_id = await user.run(workflow_id)

    for method, path in [
        ("GET", f"/api/workflows/{workflow_id}"),
        ("PUT", f"/api/workflows/{workflow_id}"),
        ("DELETE", f"/api/workflows/{workflow_id}"),
        ("GET", f"/api/workflows/{workflow_id}/versions"),
        ("GET", f"/api/workflows/{workflow_id}/export"),
        ("POST", f"/api/workflows/{workflow_id}/run"),
        ("GET", f"/api/executions/{execution_id}"),
        ("POST", f"/api/executions/{execution_id}/cancel"),
    ]:
        body = GRAPH if method == "PUT" else ({"payload": {}} if method == "POST" else None)
        response = await other_user.http.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["error"]["code"]

    assert (await other_user.http.get("/api/workflows")).json()["items"] == []
    assert (await other_user.http.get("/api/executions")).json()["items"] == []
    filtered = await other_user.http.get("/api/executions", params={"workflow_id": workflow_id})
    assert filtered.json()["items"] == []

    async with await other_user.ws() as ws:
        for target in ({"execution_id": execution_id}, {"workflow_id": workflow_id}):
            await ws.send(json.dumps({"type": "subscribe", **target}))
            frame = await receive(ws)
            assert frame == {
                "type": "error",
                "code": "not_found",
                "message": frame["message"],
                **target,  # the refused subscription is named
            }

    # The owner still sees and controls it.
    assert (await user.execution(execution_id))["status"] in ("running", "queued")
    cancel = await user.http.post(f"/api/executions/{execution_id}/cancel")
    assert cancel.status_code in (200, 202)


async def test_anonymous_requests_are_refused(user: Portico) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=user.base_url) as anonymous:
        for path in ("/api/workflows", "/api/executions", "/api/me"):
            response = await anonymous.get(path)
            assert response.status_code == 401
            assert response.json()["error"]["code"]
