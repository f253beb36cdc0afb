"""Credentials through the gateway: CRUD against the real credentials service, the type
catalogue, workflow saves that name credentials, and a canary secret that must never come
back in any response or log line, whatever was wrong with the request.

Two gateways, each on a RabbitMQ vhost of its own: one where the real credentials service
answers, one where nobody does (every credentials call is then a 503 with Retry-After).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from portico_credentials.app import running
from portico_credentials.config import Settings as CredentialsSettings
from tests.gateway.conftest import (
    User,
    gateway_settings,
    graph,
    new_user,
    serve,
)
from tests.harness.vhosts import private_vhost

CANARY = "sk-CANARY-" + uuid.uuid4().hex
MISSING_ID = "cred_" + "0" * 32


@pytest.fixture(autouse=True)
def everything_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def assert_no_canary(*texts: str, caplog: pytest.LogCaptureFixture) -> None:
    for text in texts:
        assert CANARY not in text
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.name
        assert CANARY not in str(record.exc_info or ""), record.name


# --- a gateway nobody answers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def lonely_amqp_url(infra: Any) -> Iterator[str]:
    with private_vhost(infra, "credentials_lonely", required=True) as url:
        yield url


@pytest.fixture(scope="module")
async def lonely_url(infra: Any, lonely_amqp_url: str) -> AsyncIterator[str]:
    async with serve(gateway_settings(infra, amqp_url=lonely_amqp_url, rpc_timeout_s=0.5)) as url:
        yield url


@pytest.fixture
async def lonely_user(lonely_url: str) -> AsyncIterator[User]:
    user = await new_user(lonely_url)
    yield user
    await user.client.aclose()


def openai_body(name: str = "OpenAI", secret: str = CANARY) -> dict[str, Any]:
    return {"name": name, "type": "openai", "data": {"api_key": secret}}


async def test_every_credentials_call_is_a_503_when_nobody_answers(
    lonely_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    client = lonely_user.client
    responses = [
        await client.post("/api/credentials", json=openai_body()),
        await client.get("/api/credentials"),
        await client.get("/api/credentials", params={"type": "openai"}),
        await client.get(f"/api/credentials/{MISSING_ID}"),
        await client.put(f"/api/credentials/{MISSING_ID}", json={"name": "renamed"}),
        await client.delete(f"/api/credentials/{MISSING_ID}"),
    ]
    for response in responses:
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        error = response.json()["error"]
        assert error["code"] == "credentials_unavailable"
        assert "credentials service" in error["message"]
    assert_no_canary(*(r.text for r in responses), caplog=caplog)


async def test_a_malformed_id_is_not_found_without_asking(lonely_user: User) -> None:
    for method in ("GET", "DELETE"):
        response = await lonely_user.client.request(method, "/api/credentials/not-a-credential")
        assert response.status_code == 404, response.text


async def test_saving_a_workflow_asks_only_when_a_node_names_a_credential(
    lonely_user: User,
) -> None:
    client = lonely_user.client
    assert (await client.post("/api/workflows", json=graph())).status_code == 201
    named = _slack_graph(MISSING_ID)
    response = await client.post("/api/workflows", json=named)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "credentials_unavailable"
    # An id that cannot be a credential is refused without asking anyone.
    response = await client.post("/api/workflows", json=_slack_graph("cred_nope"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["code"] == "unknown_credential"


BAD_BODIES: list[tuple[str, Any]] = [
    ("data is a string", {"name": "x", "type": "openai", "data": CANARY}),
    ("data is a list", {"name": "x", "type": "openai", "data": [CANARY]}),
    ("unknown type", {"name": "x", "type": "vault", "data": {"api_key": CANARY}}),
    ("type is the secret", {"name": "x", "type": CANARY, "data": {}}),
    ("a field the type lacks", {"name": "x", "type": "openai", "data": {CANARY: CANARY}}),
    ("a field of the wrong type", {"name": "x", "type": "openai", "data": {"api_key": [CANARY]}}),
    ("secret in a bad URL", {"name": "x", "type": "slack_webhook", "data": {"url": CANARY}}),
    ("HMAC secret too short", {"name": "x", "type": "hmac_secret", "data": {"secret": "ab"}}),
    ("lone surrogate", {"name": "x", "type": "http_bearer", "data": {"token": CANARY + "\ud800"}}),
    ("name has control chars", {"name": "a\x01", "type": "openai", "data": {"api_key": CANARY}}),
    ("an extra top-level field", {**openai_body(), "secret": CANARY}),
    ("missing data", {"name": "x", "type": "openai"}),
    ("body is the secret", CANARY),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
async def test_a_refused_body_never_echoes_the_secret(
    lonely_user: User, caplog: pytest.LogCaptureFixture, case: str, body: Any
) -> None:
    response = await lonely_user.client.post(
        "/api/credentials",
        content=_json_text(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, f"{case}: {response.text}"
    error = response.json()["error"]
    assert error["message"]
    assert_no_canary(response.text, caplog=caplog)


async def test_malformed_json_and_bad_updates_never_echo_the_secret(
    lonely_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    client = lonely_user.client
    texts = []
    for raw in (
        '{"name": "x", "type": "openai", "data": {"api_key": "' + CANARY + '"',
        '{"name": "x", "type": "openai", "data": {"api_key": ' + CANARY + "}}",
        CANARY,
    ):
        response = await client.post(
            "/api/credentials", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        texts.append(response.text)
    for body in ({"data": CANARY}, {"data": {"api_key": CANARY}, "extra": CANARY}, {}):
        response = await client.put(f"/api/credentials/{MISSING_ID}", json=body)
        assert response.status_code == 422, response.text
        texts.append(response.text)
    response = await client.post(
        "/api/credentials", content=CANARY, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 422, response.text
    texts.append(response.text)
    assert_no_canary(*texts, caplog=caplog)


async def test_a_refusal_names_the_field(lonely_user: User) -> None:
    response = await lonely_user.client.post(
        "/api/credentials", json={"name": "x", "type": "http_basic", "data": {"password": "p"}}
    )
    assert response.status_code == 422, response.text
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert fields == ["data.username"]
    response = await lonely_user.client.post(
        "/api/credentials", json={"name": "x", "type": "openai", "data": {"key": "k"}}
    )
    assert response.status_code == 422
    assert "takes only api_key, base_url" in response.json()["error"]["message"]


async def test_credential_types_mark_secret_fields_write_only(lonely_user: User) -> None:
    response = await lonely_user.client.get("/api/credential-types")
    assert response.status_code == 200, response.text
    types = {item["name"]: item for item in response.json()}
    assert "openai" in types
    assert "slack_webhook" in types
    assert "hmac_secret" in types
    openai = types["openai"]["data_schema"]["properties"]
    assert openai["api_key"]["writeOnly"] is True
    assert openai["api_key"]["format"] == "password"
    assert "writeOnly" not in openai["base_url"]
    assert types["slack_webhook"]["data_schema"]["properties"]["url"]["format"] == "password"
    basic = types["http_basic"]["data_schema"]["properties"]
    assert "writeOnly" not in basic["username"]
    assert basic["password"]["writeOnly"] is True
    assert types["openai"]["node_types"] == ["ai"]
    assert types["slack_webhook"]["node_types"] == ["slack"]
    assert types["openai"]["label"]


async def test_credential_endpoints_need_a_login(lonely_url: str) -> None:
    async with httpx.AsyncClient(base_url=lonely_url) as anon:
        for method, path in (("GET", "/api/credentials"), ("GET", "/api/credential-types")):
            assert (await anon.request(method, path)).status_code == 401
        response = await anon.post("/api/credentials", json=openai_body())
        assert response.status_code == 401
        assert CANARY not in response.text


# --- with the real credentials service ------------------------------------------------------------


@pytest.fixture(scope="module")
def served_amqp_url(infra: Any) -> Iterator[str]:
    with private_vhost(infra, "credentials_served", required=True) as url:
        yield url


@pytest.fixture(scope="module")
async def served_url(infra: Any, served_amqp_url: str) -> AsyncIterator[str]:
    settings = CredentialsSettings(
        database_url=infra.database_url,
        amqp_url=served_amqp_url,
        credentials_keys=infra.keys["PORTICO_CREDENTIALS_KEYS"],
        credentials_keys_file=None,
        grant_verify_keys=infra.keys["PORTICO_GRANT_VERIFY_KEYS"],
        graceful_timeout_s=2.0,
        db_pool_size=2,
    )
    gateway = gateway_settings(infra, amqp_url=served_amqp_url)
    async with running(settings), serve(gateway) as url:
        yield url


@pytest.fixture
async def ann(served_url: str) -> AsyncIterator[User]:
    user = await new_user(served_url)
    yield user
    await user.client.aclose()


@pytest.fixture
async def ben(served_url: str) -> AsyncIterator[User]:
    user = await new_user(served_url)
    yield user
    await user.client.aclose()


async def test_create_read_update_delete(ann: User, caplog: pytest.LogCaptureFixture) -> None:
    client = ann.client
    texts = []
    created = await client.post("/api/credentials", json=openai_body("Team OpenAI"))
    assert created.status_code == 201, created.text
    view = created.json()
    assert set(view) == {"id", "name", "type", "created_at", "updated_at"}
    assert view["name"] == "Team OpenAI"
    assert view["type"] == "openai"
    credential_id = view["id"]
    texts.append(created.text)

    listed = await client.get("/api/credentials")
    assert [item["id"] for item in listed.json()] == [credential_id]
    by_type = await client.get("/api/credentials", params={"type": "openai"})
    assert [item["id"] for item in by_type.json()] == [credential_id]
    other_type = await client.get("/api/credentials", params={"type": "slack_webhook"})
    assert other_type.json() == []
    assert (await client.get("/api/credentials", params={"type": "vault"})).status_code == 422
    fetched = await client.get(f"/api/credentials/{credential_id}")
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "Team OpenAI"
    texts += [listed.text, by_type.text, fetched.text]

    renamed = await client.put(f"/api/credentials/{credential_id}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Renamed"
    rekeyed = await client.put(
        f"/api/credentials/{credential_id}", json={"data": {"api_key": CANARY + "-2"}}
    )
    assert rekeyed.status_code == 200, rekeyed.text
    wrong_shape = await client.put(
        f"/api/credentials/{credential_id}", json={"data": {"url": CANARY}}
    )
    assert wrong_shape.status_code == 422, wrong_shape.text
    texts += [renamed.text, rekeyed.text, wrong_shape.text]

    duplicate = await client.post("/api/credentials", json=openai_body("Renamed"))
    assert duplicate.status_code == 409, duplicate.text
    texts.append(duplicate.text)

    deleted = await client.delete(f"/api/credentials/{credential_id}")
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"/api/credentials/{credential_id}")).status_code == 404
    assert (await client.delete(f"/api/credentials/{credential_id}")).status_code == 404
    assert_no_canary(*texts, caplog=caplog)


async def test_another_tenants_credential_is_not_found(ann: User, ben: User) -> None:
    created = await ann.client.post("/api/credentials", json=openai_body())
    credential_id = created.json()["id"]
    assert (await ben.client.get(f"/api/credentials/{credential_id}")).status_code == 404
    assert (await ben.client.get("/api/credentials")).json() == []
    renamed = await ben.client.put(f"/api/credentials/{credential_id}", json={"name": "mine"})
    assert renamed.status_code == 404, renamed.text
    assert (await ben.client.delete(f"/api/credentials/{credential_id}")).status_code == 404
    still = await ann.client.get(f"/api/credentials/{credential_id}")
    assert still.status_code == 200
    assert still.json()["name"] == "OpenAI"


def _slack_graph(credential_id: str, node_type: str = "slack") -> dict[str, Any]:
    config: dict[str, Any] = {"text": "Hello {{ trigger.name }}"}
    if node_type == "ai":
        config = {"provider": "openai", "model": "gpt-4o-mini", "prompt": "Hi"}
    return {
        "name": "Notify",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "post", "type": node_type, "config": config, "credential_id": credential_id},
        ],
        "edges": [{"source": "start", "target": "post"}],
    }


async def test_a_saved_workflow_names_credentials_of_the_right_type(ann: User, ben: User) -> None:
    openai = (await ann.client.post("/api/credentials", json=openai_body())).json()["id"]
    slack_body = {
        "name": "Slack",
        "type": "slack_webhook",
        "data": {"url": "https://hooks.slack.example/services/" + CANARY},
    }
    slack = (await ann.client.post("/api/credentials", json=slack_body)).json()["id"]

    fitting = await ann.client.post("/api/workflows", json=_slack_graph(slack))
    assert fitting.status_code == 201, fitting.text
    assert (await ann.client.post("/api/workflows", json=_slack_graph(openai, "ai"))).is_success

    wrong = await ann.client.post("/api/workflows", json=_slack_graph(openai))
    assert wrong.status_code == 422, wrong.text
    error = wrong.json()["error"]
    assert (
        f"node 'post': credential {openai} is an openai credential; "
        "a slack node takes slack_webhook"
    ) in error["message"]
    assert error["details"][0]["node_id"] == "post"
    assert error["details"][0]["field"] == "credential_id"

    workflow_id = fitting.json()["id"]
    saved_again = await ann.client.put(f"/api/workflows/{workflow_id}", json=_slack_graph(openai))
    assert saved_again.status_code == 422, saved_again.text
    imported = await ann.client.post("/api/workflows/import", json=_slack_graph(openai))
    assert imported.status_code == 422, imported.text

    # Another tenant's credential is no credential at all.
    foreign = await ben.client.post("/api/workflows", json=_slack_graph(slack))
    assert foreign.status_code == 422, foreign.text
    assert foreign.json()["error"]["details"][0]["code"] == "unknown_credential"
    assert "POST /api/credentials" in foreign.json()["error"]["message"]


def _json_text(body: Any) -> str:
    # ensure_ascii keeps a lone surrogate sendable as the escape a client would write.
    return json.dumps(body)
