"""`POST /api/ai/generate-config` up to the executor: request validation, the per-account rate
limit, and quick 503s when the orchestrator or every AI executor is missing. (The whole way
through a model is the end-to-end suite's.)

Each gateway here runs on a RabbitMQ vhost of its own, so no other test's services answer it.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest

from portico_contracts.topology import AI_RPC_QUEUE
from tests.gateway.conftest import User, gateway_settings, new_user, serve
from tests.harness.services import service_process
from tests.harness.vhosts import private_vhost

CREDENTIAL_ID = "cred_" + "1" * 32


def body(**changes: Any) -> dict[str, Any]:
    return {
        "node_type": "http",
        "description": "GET the weather for Paris from https://weather.example/api",
        "provider": "openai",
        "credential_id": CREDENTIAL_ID,
        **changes,
    }


@pytest.fixture(scope="module")
def amqp_url(infra: Any) -> Iterator[str]:
    with private_vhost(infra, "generate_config", required=True) as url:
        yield url


@pytest.fixture
async def user(infra: Any, amqp_url: str) -> AsyncIterator[User]:
    settings = gateway_settings(
        infra, amqp_url=amqp_url, rpc_timeout_s=1.0, rate_limit_ai_generate_per_tenant="3/minute"
    )
    async with serve(settings) as url:
        account = await new_user(url)
        yield account
        await account.client.aclose()


BAD_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown node type", body(node_type="fax"), "body.node_type"),
    ("description too long", body(description="x" * 4001), "body.description"),
    ("empty description", body(description=""), "body.description"),
    ("unknown provider", body(provider="mistral"), "body.provider"),
    ("malformed credential id", body(credential_id="openai-key"), "body.credential_id"),
    ("extra field", body(temperature=2), "body.temperature"),
    ("empty model", body(model=""), "body.model"),
]


@pytest.mark.parametrize(
    ("case", "request_body", "field"), BAD_REQUESTS, ids=[case for case, _, _ in BAD_REQUESTS]
)
async def test_a_bad_request_is_a_422_naming_the_field(
    user: User, case: str, request_body: dict[str, Any], field: str
) -> None:
    response = await user.client.post("/api/ai/generate-config", json=request_body)
    assert response.status_code == 422, f"{case}: {response.text}"
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert fields == [field], response.text


async def test_unknown_node_type_lists_the_known_ones(user: User) -> None:
    response = await user.client.post("/api/ai/generate-config", json=body(node_type="fax"))
    assert "choose one of" in response.json()["error"]["message"]
    assert "http" in response.json()["error"]["message"]


async def test_without_an_orchestrator_it_is_a_503_and_the_account_is_rate_limited(
    user: User,
) -> None:
    for _ in range(3):
        response = await user.client.post("/api/ai/generate-config", json=body())
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "orchestrator_unavailable"
        assert "Retry-After" in response.headers
    limited = await user.client.post("/api/ai/generate-config", json=body())
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["Retry-After"]) >= 1
    assert "generated configs for this account" in limited.json()["error"]["message"]


async def test_needs_a_login(user: User) -> None:
    # An Authorization header decides alone, whatever cookie the client carries.
    response = await user.client.post(
        "/api/ai/generate-config", json=body(), headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401, response.text


# --- with an orchestrator, without any AI executor ---------------------------------------------


@pytest.fixture(scope="module")
def orchestrator_here(
    infra: Any, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """The real orchestrator on this module's vhost: it signs the grant."""
    log_dir = tmp_path_factory.mktemp("orchestrator")
    with service_process("orchestrator", infra, log_dir, {"PORTICO_AMQP_URL": amqp_url}) as process:
        yield process


async def _answered_by_orchestrator(user: User) -> None:
    deadline = time.monotonic() + 30
    while (await user.client.get("/api/executions")).status_code != 200:
        assert time.monotonic() < deadline, "the orchestrator does not answer"
        await asyncio.sleep(0.2)


async def test_without_an_ai_executor_it_is_a_quick_503(
    user: User, orchestrator_here: subprocess.Popen[bytes], amqp_url: str
) -> None:
    await _answered_by_orchestrator(user)
    started = time.monotonic()
    response = await user.client.post("/api/ai/generate-config", json=body())
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "ai_unavailable"
    assert "portico executors --types ai" in error["message"]

    # A queue left behind by executors that are gone would swallow the request for the whole
    # timeout (120 s): the consumer check answers at once instead.
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_queue(
            AI_RPC_QUEUE.name, durable=AI_RPC_QUEUE.durable, auto_delete=AI_RPC_QUEUE.auto_delete
        )
        response = await user.client.post("/api/ai/generate-config", json=body())
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "ai_unavailable"
    finally:
        await connection.close()
    assert time.monotonic() - started < 10
