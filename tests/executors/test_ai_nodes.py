"""The ai node against local OpenAI, Anthropic and Gemini servers, through the real SDKs and
the executor's SSRF-guarded client: outputs, usage and cost, streaming to live viewers,
structured output with its one retry, and how provider failures are reported."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from portico_contracts.credentials import ModelProviderKey
from portico_contracts.nodes import AiConfig
from portico_executors.config import Settings
from portico_executors.errors import NodeRunError
from portico_executors.http_guard import HostPolicy, guarded_client
from portico_executors.nodes.ai import run_ai
from portico_executors.nodes.base import RunContext
from tests.fakes.ai_servers import AiReply, FakeAiServer, fake_ai

from .support import make_ready

PROVIDERS = ("openai", "anthropic", "gemini")
API_KEY = "sk-test-" + "k3y" * 10
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.0-flash",
}
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


class RecordingSink:
    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.flushes = 0

    async def emit(self, text: str) -> None:
        self.chunks.append(text)

    async def flush(self) -> None:
        self.flushes += 1


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(HostPolicy(("127.0.0.1",)), "Portico/test") as client:
        yield client


@pytest.fixture(params=PROVIDERS)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[FakeAiServer]:
    async with fake_ai(request.param) as fake:
        yield fake


def ai_context(
    server: FakeAiServer,
    http: httpx.AsyncClient,
    credential_type: str | None = None,
    settings: Settings | None = None,
    base_url: str | None = None,
) -> tuple[RunContext, RecordingSink]:
    ready = make_ready("ai", {})
    sink = RecordingSink()
    ctx = RunContext(
        ready=ready,
        template_context=ready.template_context(),
        settings=settings or Settings(),
        http=http,
        shutdown=asyncio.Event(),
        sandbox=None,  # type: ignore[arg-type]  # the ai node renders nothing itself
        credential=ModelProviderKey.model_validate(
            {"api_key": API_KEY, "base_url": base_url or server.base_url}
        ),
        credential_type=credential_type or server.provider,
        progress=sink,
    )
    return ctx, sink


def ai_config(server: FakeAiServer, **fields: Any) -> AiConfig:
    values: dict[str, Any] = {
        "provider": server.provider,
        "model": MODELS[server.provider],
        "prompt": "Say hello.",
    }
    values.update(fields)
    return AiConfig.model_validate(values)


def sent(server: FakeAiServer, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = server.requests[index].json
    return body


def sent_text(server: FakeAiServer, index: int = -1) -> str:
    """Everything the SDK put in the request body, as text (prompts, system, schema)."""
    return json.dumps(sent(server, index))


def key_header(server: FakeAiServer, index: int = -1) -> str:
    headers = server.requests[index].headers
    if server.provider == "gemini":
        return headers["x-goog-api-key"]
    return headers.get("x-api-key") or headers["authorization"]


# --- plain text -------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_text_answer_with_usage_cost_and_model(
    server: FakeAiServer, http: httpx.AsyncClient, stream: bool
) -> None:
    server.script(AiReply(text="Hello there, friend!", input_tokens=1000, output_tokens=500))
    ctx, sink = ai_context(server, http)
    config = ai_config(server, system="Be brief.", temperature=0.5, max_tokens=77, stream=stream)

    outcome = await run_ai(config, ctx)

    output = outcome.output
    assert output["text"] == "Hello there, friend!"
    assert "json" not in output
    assert output["usage"] == {"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500}
    assert output["model"] == MODELS[server.provider]
    assert output["priced"] is True
    assert output["cost_usd"] > 0
    assert output["finish_reason"] in ("stop", "end_turn", "STOP")
    if stream:  # the chunks rebuild the text, and the sink was flushed at the end
        assert len(sink.chunks) > 1
        assert "".join(sink.chunks) == "Hello there, friend!"
        assert sink.flushes == 1
    else:
        assert sink.chunks == []
    assert key_header(server).endswith(API_KEY)
    body = sent_text(server)
    assert "Be brief." in body
    assert "Say hello." in body
    assert "0.5" in body
    assert "77" in body


async def test_openai_request_shape(http: httpx.AsyncClient) -> None:
    async with fake_ai("openai") as server:
        ctx, _ = ai_context(server, http)
        await run_ai(ai_config(server, system="sys", temperature=0.2, stream=True), ctx)
    body = sent(server)
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "Say hello."},
    ]
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 1024
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_anthropic_request_shape(http: httpx.AsyncClient) -> None:
    async with fake_ai("anthropic") as server:
        ctx, _ = ai_context(server, http)
        await run_ai(ai_config(server, system="sys", temperature=1.5, stream=False), ctx)
    body = sent(server)
    assert body["model"] == "claude-3-5-haiku-latest"
    assert body["system"] == "sys"
    assert body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert body["temperature"] == 1.0  # Anthropic's range ends at 1
    assert server.requests[-1].headers["anthropic-version"]


async def test_gemini_request_shape(http: httpx.AsyncClient) -> None:
    async with fake_ai("gemini") as server:
        ctx, _ = ai_context(server, http)
        await run_ai(ai_config(server, system="sys", stream=True), ctx)
    request = server.requests[-1]
    assert request.path.endswith("/models/gemini-2.0-flash:streamGenerateContent")
    assert request.query.get("alt") == "sse"
    body = request.json
    assert body["systemInstruction"]["parts"][0]["text"] == "sys"
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Say hello."}]}]
    assert body["generationConfig"]["maxOutputTokens"] == 1024


async def test_reported_model_is_priced_by_longest_prefix(
    server: FakeAiServer, http: httpx.AsyncClient
) -> None:
    reported = {
        "openai": "gpt-4o-mini-2024-07-18",
        "anthropic": "claude-3-5-haiku-20241022",
        "gemini": "gemini-2.0-flash-001",
    }[server.provider]
    per_million = {"openai": (0.15, 0.60), "anthropic": (0.80, 4.00), "gemini": (0.10, 0.40)}
    server.script(AiReply(model=reported, input_tokens=2_000_000, output_tokens=1_000_000))
    ctx, _ = ai_context(server, http)
    output = (await run_ai(ai_config(server), ctx)).output
    assert output["model"] == reported
    price_in, price_out = per_million[server.provider]
    assert output["cost_usd"] == pytest.approx(2 * price_in + price_out)


async def test_unknown_model_costs_nothing_and_says_so(http: httpx.AsyncClient) -> None:
    async with fake_ai("openai") as server:
        ctx, _ = ai_context(server, http)
        output = (await run_ai(ai_config(server, model="my-local-llama"), ctx)).output
    assert output["cost_usd"] == 0.0
    assert output["priced"] is False


async def test_operator_prices_override_the_table(http: httpx.AsyncClient) -> None:
    settings = Settings(ai_prices='{"gpt-4o-mini": {"input": 1000, "output": 2000}}')
    async with fake_ai("openai") as server:
        server.script(AiReply(input_tokens=1000, output_tokens=1000))
        ctx, _ = ai_context(server, http, settings=settings)
        output = (await run_ai(ai_config(server), ctx)).output
    assert output["cost_usd"] == pytest.approx(1.0 + 2.0)


# --- structured output ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_structured_answer_is_parsed_and_validated(
    server: FakeAiServer, http: httpx.AsyncClient, stream: bool
) -> None:
    server.script('```json\n{"city": "Lyon", "population": 522250}\n```')
    ctx, _ = ai_context(server, http)
    output = (await run_ai(ai_config(server, json_schema=SCHEMA, stream=stream), ctx)).output
    assert output["json"] == {"city": "Lyon", "population": 522250}
    assert len(server.requests) == 1
    body = sent(server)
    if server.provider == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    elif server.provider == "gemini":
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        assert body["generationConfig"]["responseJsonSchema"] == SCHEMA
    else:  # Anthropic: the schema is in the system prompt
        assert '"population"' in body["system"]


async def test_structured_answer_gets_one_retry_with_the_problem(
    server: FakeAiServer, http: httpx.AsyncClient
) -> None:
    server.script(
        AiReply(text='{"city": "Lyon"}', input_tokens=10, output_tokens=5),
        AiReply(text='{"city": "Lyon", "population": 5}', input_tokens=20, output_tokens=6),
    )
    ctx, _ = ai_context(server, http)
    output = (await run_ai(ai_config(server, json_schema=SCHEMA), ctx)).output
    assert output["json"] == {"city": "Lyon", "population": 5}
    assert output["text"] == '{"city": "Lyon", "population": 5}'
    assert output["usage"] == {"input_tokens": 30, "output_tokens": 11, "total_tokens": 41}
    retry = sent_text(server, 1)
    assert len(server.requests) == 2
    assert '{\\"city\\": \\"Lyon\\"}' in retry  # the previous answer, fed back
    assert "'population' is a required property" in retry  # and what was wrong with it


async def test_structured_answer_wrong_twice_fails_with_the_validation_error(
    server: FakeAiServer, http: httpx.AsyncClient
) -> None:
    server.script(
        AiReply(text="not json at all", input_tokens=10, output_tokens=5),
        AiReply(text='{"city": 7, "population": 1}', input_tokens=20, output_tokens=6),
    )
    ctx, _ = ai_context(server, http)
    with pytest.raises(NodeRunError) as caught:
        await run_ai(ai_config(server, json_schema=SCHEMA), ctx)
    failure = caught.value
    assert failure.type == "SchemaMismatch"
    assert not failure.retryable
    assert "7 is not of type 'string'" in failure.message
    assert failure.details is not None
    assert failure.details["usage"] == {"input_tokens": 30, "output_tokens": 11, "total_tokens": 41}
    assert failure.details["tries"] == 2
    assert len(server.requests) == 2


# --- failures ---------------------------------------------------------------------------------


async def test_rate_limit_is_retryable_with_retry_after(
    server: FakeAiServer, http: httpx.AsyncClient
) -> None:
    server.fail_next(429, error="Rate limit reached for requests", retry_after=7)
    ctx, sink = ai_context(server, http)
    with pytest.raises(NodeRunError) as caught:
        await run_ai(ai_config(server), ctx)
    failure = caught.value
    assert failure.retryable
    assert failure.type == "AiRateLimited"
    assert "Rate limit reached for requests" in failure.message
    assert failure.details is not None
    assert failure.details["retry_after_s"] == 7
    assert len(server.requests) == 1  # the SDK did not retry on its own
    assert sink.flushes == 1


@pytest.mark.parametrize("status", [500, 503, 408])
async def test_server_errors_are_retryable(
    server: FakeAiServer, http: httpx.AsyncClient, status: int
) -> None:
    server.fail_next(status, error="The server had an error")
    ctx, _ = ai_context(server, http)
    with pytest.raises(NodeRunError) as caught:
        await run_ai(ai_config(server, stream=False), ctx)
    assert caught.value.retryable
    assert "The server had an error" in caught.value.message
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_refusals_are_not_retryable_and_quote_the_provider(
    server: FakeAiServer, http: httpx.AsyncClient, status: int
) -> None:
    server.fail_next(status, error=f"model 'nope' is not supported ({status})")
    ctx, _ = ai_context(server, http)
    with pytest.raises(NodeRunError) as caught:
        await run_ai(ai_config(server), ctx)
    failure = caught.value
    assert not failure.retryable
    assert failure.type == "AiProviderError"
    assert f"model 'nope' is not supported ({status})" in failure.message
    assert failure.details is not None
    assert failure.details["status"] == status


async def test_api_key_never_appears_in_errors(
    server: FakeAiServer, http: httpx.AsyncClient
) -> None:
    # A provider that echoes the key back (some proxies do) is scrubbed.
    server.fail_next(401, error=f"Incorrect API key provided: {API_KEY}")
    ctx, _ = ai_context(server, http)
    with pytest.raises(NodeRunError) as caught:
        await run_ai(ai_config(server), ctx)
    assert API_KEY not in caught.value.message
    assert API_KEY not in str(caught.value.details)
    assert "<api key>" in caught.value.message
    assert API_KEY not in repr(ctx.credential)


async def test_unreachable_provider_is_retryable(http: httpx.AsyncClient) -> None:
    async with fake_ai("openai") as server:
        gone = server.base_url
    ctx, _ = ai_context(server, http, base_url=gone)
    with pytest.raises(NodeRunError) as caught:
        await run_ai(ai_config(server), ctx)
    assert caught.value.retryable
    assert caught.value.type == "AiConnectionError"
    assert API_KEY not in caught.value.message


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_private_base_url_is_refused_unless_allowed(provider: str) -> None:
    async with (
        fake_ai(provider) as server,
        guarded_client(HostPolicy(()), "Portico/test") as strict,
    ):
        ctx, _ = ai_context(server, strict)
        with pytest.raises(NodeRunError) as caught:
            await run_ai(ai_config(server), ctx)
    assert caught.value.type == "HttpRequestBlocked"
    assert not caught.value.retryable
    assert "PORTICO_HTTP_ALLOW_HOSTS" in caught.value.message
    assert server.requests == []


async def test_credential_of_another_provider_is_refused(http: httpx.AsyncClient) -> None:
    async with fake_ai("openai") as server:
        ctx, _ = ai_context(server, http, credential_type="anthropic")
        with pytest.raises(NodeRunError) as caught:
            await run_ai(ai_config(server), ctx)
    failure = caught.value
    assert failure.type == "CredentialMismatch"
    assert not failure.retryable
    assert "openai" in failure.message
    assert "anthropic" in failure.message
    assert server.requests == []


async def test_missing_credential_is_refused(http: httpx.AsyncClient) -> None:
    async with fake_ai("gemini") as server:
        ctx, _ = ai_context(server, http)
        ctx.credential, ctx.credential_type = None, None
        with pytest.raises(NodeRunError) as caught:
            await run_ai(ai_config(server), ctx)
    assert caught.value.type == "CredentialMissing"
