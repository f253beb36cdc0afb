"""Bad input is a 4xx with the error shape, never a 500; probes, metrics, docs, node types."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from portico_contracts.nodes import NODE_TYPES
from portico_gateway.app import create_app
from tests.gateway.conftest import (
    User,
    create,
    gateway_settings,
    graph,
    graph_with_raw_json,
    pipelined_statuses,
    serve,
)


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/api/auth/signup", b"{not json"),
        ("POST", "/api/auth/signup", b"[1, 2]"),
        ("POST", "/api/auth/signup", b'{"email": 5, "password": ["x"]}'),
        ("POST", "/api/auth/login", b""),
        ("POST", "/api/auth/login", b"\xff\xfe\x00garbage"),
        ("POST", "/api/api-keys", b'{"name": ""}'),
        ("POST", "/api/api-keys", b'{"name": "   "}'),
        ("POST", "/api/api-keys", b'{"name": "' + b"x" * 1000 + b'"}'),
        ("POST", "/api/workflows", b"null"),
        ("POST", "/api/workflows", b'"a string"'),
        ("POST", "/api/workflows", b'{"name": "x", "nodes": "nope"}'),
        ("POST", "/api/workflows", b'{"name": "x", "nodes": [null, 1, "s"]}'),
        ("POST", "/api/workflows", b'{"name": "x", "nodes": [{"id": "a", "type": []}]}'),
        ("POST", "/api/workflows/import", b"[]"),
        ("POST", "/api/workflows/import", b'{"format": "portico.workflow", "graph": 7}'),
        ("POST", "/api/workflows/import", b'{"format": "portico.workflow", "format_version": 9}'),
        ("POST", "/api/auth/signup", b'{"email": "a\\ud800@b.co", "password": "12345678"}'),
        ("POST", "/api/auth/signup", b'{"email": "a@b.co", "password": "1234567\\ud800"}'),
        ("POST", "/api/auth/login", b'{"email": "a\\u0000@b.co", "password": "x\\udfff"}'),
        ("POST", "/api/api-keys", b'{"name": "bad \\ud83d"}'),
        ("POST", "/api/workflows", b'{"name": "\\ud800", "nodes": [], "edges": []}'),
        ("POST", "/api/workflows", b'{"name": "x", "nodes": [{"id": "\\u0000"}]}'),
        ("POST", "/api/workflows/import", b'{"format": "\\ud800"}'),
        ("GET", "/api/workflows?limit=abc", None),
        ("GET", "/api/workflows?limit=0", None),
        ("GET", "/api/workflows?offset=-1", None),
        ("GET", "/api/executions?status=exploded", None),
        ("GET", "/api/executions?limit=100000", None),
    ],
)
async def test_malformed_requests_are_4xx(
    alice: User, method: str, path: str, content: bytes | None
) -> None:
    response = await alice.client.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    _error(response, response.status_code)


async def test_validation_errors_name_each_field(alice: User) -> None:
    error = _error(await alice.client.post("/api/auth/signup", json={"email": 1, "pass": "x"}), 422)
    fields = {detail["field"] for detail in error["details"]}
    assert {"body.email", "body.password", "body.pass"} <= fields


async def test_huge_and_odd_bodies(alice: User) -> None:
    huge = b'{"name": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    too_big = await alice.client.post(
        "/api/workflows", content=huge, headers={"content-type": "application/json"}
    )
    assert _error(too_big, 413)["code"] == "payload_too_large"

    # Nesting deeper than any JSON encoder recurses: built as text, not with json.dumps.
    for depth in (50, 900, 5000, 100_000):
        deep = "[" * depth + '"leaf"' + "]" * depth
        response = await alice.client.post(
            "/api/workflows",
            content=graph_with_raw_json(deep),
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (201, 400, 422), (depth, response.text[:300])

    unicode = graph("名前 🚀 \u202e")
    assert (await alice.client.post("/api/workflows", json=unicode)).status_code == 201
    null_byte = graph("nul \x00 byte")
    assert 400 <= (await alice.client.post("/api/workflows", json=null_byte)).status_code < 500


async def test_unknown_routes_and_methods_are_json(anon: httpx.AsyncClient) -> None:
    assert _error(await anon.get("/api/nope"), 404)["code"] == "not_found"
    assert _error(await anon.get("/definitely/not/here"), 404)["code"] == "not_found"
    assert _error(await anon.delete("/api/auth/login"), 405)["code"] == "method_not_allowed"


async def test_node_types_catalogue(alice: User) -> None:
    response = await alice.client.get("/api/node-types")
    assert response.status_code == 200
    catalogue = {item["name"]: item for item in response.json()}
    assert set(catalogue) == set(NODE_TYPES)
    http = catalogue["http"]
    assert http["category"] == "action"
    assert http["label"] == NODE_TYPES["http"].label
    assert "url" in http["config_schema"]["properties"]
    assert catalogue["trigger.manual"]["is_trigger"] is True
    assert all("needs_credential" in item for item in catalogue.values())
    assert catalogue["ai"]["credential_types"] == ["openai", "anthropic", "gemini"]
    assert catalogue["slack"]["needs_credential"] is True
    assert catalogue["transform"]["credential_types"] == []


async def test_probes_docs_and_metrics(anon: httpx.AsyncClient, alice: User) -> None:
    assert (await anon.get("/healthz")).json() == {"status": "ok"}
    ready = await anon.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert (await anon.get("/docs")).status_code == 200
    spec = (await anon.get("/openapi.json")).json()
    assert "/api/workflows/{workflow_id}/run" in spec["paths"]

    await alice.client.get("/api/workflows")
    metrics = (await anon.get("/metrics")).text
    assert 'route="/api/workflows"' in metrics
    assert "portico_gateway_http_request_duration_seconds_bucket" in metrics
    assert "portico_gateway_websocket_connections" in metrics
    # Raw paths never become labels: ids would explode the series count.
    await alice.client.get("/api/workflows/00000000-0000-0000-0000-000000000000")
    metrics = (await anon.get("/metrics")).text
    assert 'route="/api/workflows/{workflow_id}"' in metrics
    assert "00000000-0000" not in metrics


async def test_version_numbers_beyond_what_can_exist_are_a_422(alice: User) -> None:
    # Found by schemathesis: an int64 version reached PostgreSQL's int32 column as a 500.
    workflow_id = await create(alice, graph())
    huge = 8_104_806_217_501
    for method, path, body in [
        ("POST", f"/api/workflows/{workflow_id}/run", {"payload": {}, "version": huge}),
        ("GET", f"/api/workflows/{workflow_id}/versions/{huge}", None),
        ("PUT", f"/api/workflows/{workflow_id}?expected_version={huge}", graph()),
        ("PUT", f"/api/workflows/{workflow_id}", {**graph(), "expected_version": huge}),
    ]:
        response = await alice.client.request(method, path, json=body)
        _error(response, 422)


async def test_metric_labels_stay_bounded_whatever_the_method(
    anon: httpx.AsyncClient, alice: User
) -> None:
    # Made-up methods reach the app (they are 405s); each one must not become a label.
    for method in ("FOOBAR", "PROPFIND", "PURGE", "X-" + "A" * 40):
        response = await alice.client.request(method, "/api/workflows")
        assert response.status_code in (400, 405), (method, response.status_code)
    await anon.request("BREW", "/no/such/path/" + "x" * 30)
    metrics = (await anon.get("/metrics")).text
    methods = {
        line.split('method="', 1)[1].split('"', 1)[0]
        for line in metrics.splitlines()
        if line.startswith("portico_gateway_http_requests_total{")
    }
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert "other" in methods
    assert 'route="/api/workflows",status="405"' in metrics
    assert "xxxxxxxxxx" not in metrics


async def test_a_500_leaves_the_connection_open(infra: Any) -> None:
    """Starlette re-raises an unhandled error after its 500, and uvicorn then closed the
    connection: a keep-alive client's next request on it was reset."""
    app = create_app(gateway_settings(infra))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/broken", broken)
    async with serve(gateway_settings(infra), app) as url:
        statuses = await pipelined_statuses(url, "/api/broken", "", 3)
        assert statuses == [b"HTTP/1.1 500 Internal Server Error"] * 3
        async with httpx.AsyncClient(base_url=url) as client:
            error = _error(await client.get("/api/broken"), 500)
            assert error["code"] == "internal_error"
            metrics = (await client.get("/metrics")).text
            assert 'route="/api/broken",status="500"' in metrics
