"""generate-config: a node config written by a model, checked like a saved graph's, with the
problems fed back for up to GENERATE_CONFIG_TRIES tries; and the RPC's error replies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from portico_contracts.ai import GENERATE_CONFIG_TRIES, GenerateConfig
from portico_contracts.credentials import ResolvedCredential
from portico_executors.ai.generate_config import GenerateConfigError, generate_config
from portico_executors.ai.rpc import answer
from portico_executors.http_guard import HostPolicy, guarded_client
from tests.fakes.ai_servers import AiReply, FakeAiServer, fake_ai

from .credential_support import CREDENTIAL_ID

API_KEY = "sk-generate-" + "x" * 20


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(HostPolicy(("127.0.0.1",)), "Portico/test") as client:
        yield client


def gen_request(provider: str = "openai", **fields: Any) -> GenerateConfig:
    values: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "node_type": "http",
        "description": "POST the trigger's email to https://crm.example.com/users as JSON",
        "provider": provider,
        "credential_id": CREDENTIAL_ID,
        "execution_id": "generate-config:1",
        "node_id": "generate-config",
        "grant": "grant",
    }
    values.update(fields)
    return GenerateConfig(**values)


def credential(server: FakeAiServer, credential_type: str | None = None) -> ResolvedCredential:
    return ResolvedCredential(
        id=CREDENTIAL_ID,
        type=credential_type or server.provider,
        data={"api_key": API_KEY, "base_url": server.base_url},
    )


def answer_text(config: dict[str, Any], explanation: str = "Posts the email.") -> str:
    return json.dumps({"config": config, "explanation": explanation})


GOOD = {
    "method": "POST",
    "url": "https://crm.example.com/users",
    "body_type": "json",
    "body": {"email": "{{ trigger.email }}"},
}


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_valid_config_on_the_first_try(provider: str, http: httpx.AsyncClient) -> None:
    async with fake_ai(provider) as server:
        server.script(AiReply(text=answer_text(GOOD), input_tokens=300, output_tokens=40))
        generated = await generate_config(gen_request(provider), credential(server), http, 30)
    assert generated.config == GOOD
    assert generated.explanation == "Posts the email."
    assert generated.tries == 1
    assert generated.usage.total_tokens == 340
    default_model = {
        "openai": "gpt-4o-mini",
        "anthropic": "claude-3-5-haiku-latest",
        "gemini": "gemini-2.0-flash",
    }[provider]
    assert generated.model == default_model
    sent = json.dumps(server.requests[0].json)
    assert "crm.example.com/users as JSON" in sent  # the user's description
    assert "allow_non_2xx" in sent  # the node type's config schema
    assert "Call an HTTP API" in sent  # and its description


async def test_invalid_config_is_fixed_on_the_second_try(http: httpx.AsyncClient) -> None:
    wrong = {"method": "FETCH", "url": "https://x.example/{{ trigger.id "}
    async with fake_ai("openai") as server:
        server.script(answer_text(wrong), answer_text(GOOD))
        generated = await generate_config(
            gen_request(model="gpt-4.1-mini"), credential(server), http, 30
        )
    assert generated.tries == 2
    assert generated.config == GOOD
    assert server.requests[1].json["model"] == "gpt-4.1-mini"
    retry = json.dumps(server.requests[1].json)
    assert "config.method" in retry  # the model error, fed back
    assert "config.url" in retry  # and the template that does not parse


async def test_gives_up_after_every_try_with_the_last_problems(http: httpx.AsyncClient) -> None:
    async with fake_ai("gemini") as server:
        server.script(
            *(["not json"] * (GENERATE_CONFIG_TRIES - 1)), answer_text({"method": "FETCH"})
        )
        with pytest.raises(GenerateConfigError) as caught:
            await generate_config(gen_request("gemini"), credential(server), http, 30)
    assert caught.value.code == "invalid_request"
    assert f"in {GENERATE_CONFIG_TRIES} tries" in caught.value.message
    assert "config.method" in caught.value.message
    assert "config.url" in caught.value.message
    assert len(server.requests) == GENERATE_CONFIG_TRIES


async def test_unknown_node_type_is_an_invalid_request(http: httpx.AsyncClient) -> None:
    async with fake_ai("openai") as server:
        with pytest.raises(GenerateConfigError) as caught:
            await generate_config(gen_request(node_type="fax"), credential(server), http, 30)
    assert caught.value.code == "invalid_request"
    assert "'fax'" in caught.value.message
    assert server.requests == []


async def test_credential_of_another_provider_is_refused(http: httpx.AsyncClient) -> None:
    async with fake_ai("openai") as server:
        with pytest.raises(GenerateConfigError) as caught:
            await generate_config(gen_request(), credential(server, "gemini"), http, 30)
    assert caught.value.code == "invalid_request"
    assert "gemini" in caught.value.message


@pytest.mark.parametrize(("status", "code"), [(429, "unavailable"), (401, "invalid_request")])
async def test_provider_failures_map_to_rpc_codes(
    http: httpx.AsyncClient, status: int, code: str
) -> None:
    async with fake_ai("anthropic") as server:
        server.fail_next(status, error=f"refused with {API_KEY}")
        with pytest.raises(GenerateConfigError) as caught:
            await generate_config(gen_request("anthropic"), credential(server), http, 30)
    assert caught.value.code == code
    assert "refused with" in caught.value.message
    assert API_KEY not in caught.value.message


class _NoCredentials:
    async def resolve_with_grant(self, **_: str) -> ResolvedCredential:
        raise AssertionError("an invalid request must not resolve a credential")


async def test_rpc_refuses_an_invalid_request(http: httpx.AsyncClient) -> None:
    reply = await answer(b'{"tenant_id": "t"}', _NoCredentials(), http, 30)
    assert reply.error is not None
    assert reply.error.code == "invalid_request"
    assert "node_type" in reply.error.message
    reply = await answer(b"not json", _NoCredentials(), http, 30)
    assert reply.error is not None
    assert reply.error.code == "invalid_request"
