"""ai: prompt an OpenAI, Anthropic or Gemini model through its official SDK.

The credential (a `ModelProviderKey`: api key, optional base URL) must be of the node's
provider's type. The SDK's HTTP traffic goes through the executor's SSRF-guarded client, so a
base URL to a private host is refused unless `PORTICO_HTTP_ALLOW_HOSTS` lists it, and the
SDK's own retries are off: the orchestrator's retry policy decides (429, 408, 409, 5xx,
timeouts and connection errors are retryable, with `details.retry_after_s` when the provider
said when to come back; any other refusal is not).

With `stream` (the default) the text goes to live viewers as it grows (`ctx.progress`). With
a `json_schema` the answer must be JSON satisfying it: one retry is made showing the model its
mistake, then the node fails as `SchemaMismatch`.

Output: {"text", "json" (with a schema), "usage": {input_tokens, output_tokens,
total_tokens}, "cost_usd", "priced", "model" (as the provider reports it), "finish_reason"}.
"""

from __future__ import annotations

from typing import Any

from portico_contracts.ai import TokenUsage
from portico_contracts.credentials import ModelProviderKey
from portico_contracts.nodes import AiConfig
from portico_executors.ai.pricing import PriceBook
from portico_executors.ai.protocol import ChatReply, ChatRequest, KeyScrubber, Turn
from portico_executors.ai.providers import make_provider
from portico_executors.ai.structured import SchemaMismatch, complete_structured
from portico_executors.errors import NodeRunError
from portico_executors.nodes.base import Outcome, RunContext


def provider_key(provider: str, ctx: RunContext) -> ModelProviderKey:
    """The node's API key, if its credential is one for `provider`."""
    if ctx.credential is None:
        raise NodeRunError(
            f"an ai node needs a {provider} credential: set the node's credential_id",
            type="CredentialMissing",
        )
    if ctx.credential_type != provider or not isinstance(ctx.credential, ModelProviderKey):
        raise NodeRunError(
            f"the node's provider is {provider} but its credential is a "
            f"{ctx.credential_type} credential; pick a {provider} credential or change provider",
            type="CredentialMismatch",
        )
    return ctx.credential


def chat_request(config: AiConfig) -> ChatRequest:
    return ChatRequest(
        model=config.model,
        turns=(Turn("user", config.prompt),),
        system=config.system,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        json_schema=config.json_schema,
        stream=config.stream,
    )


def cost_fields(ctx: RunContext, usage: TokenUsage, *models: str) -> dict[str, Any]:
    cost = PriceBook(ctx.settings.ai_prices).cost(usage, *models)
    return {"cost_usd": cost.usd, "priced": cost.priced}


def _output(
    ctx: RunContext, config: AiConfig, reply: ChatReply, usage: TokenUsage
) -> dict[str, Any]:
    return {
        "text": reply.text,
        "usage": usage.model_dump(),
        **cost_fields(ctx, usage, reply.model, config.model),
        "model": reply.model,
        "finish_reason": reply.finish_reason,
    }


def _mismatch(ctx: RunContext, config: AiConfig, exc: SchemaMismatch) -> NodeRunError:
    usage = exc.usage
    return NodeRunError(
        f"the model's answer does not satisfy json_schema, also after one retry: {exc.problem}",
        type="SchemaMismatch",
        details={
            "validation_error": exc.problem,
            "tries": len(exc.replies),
            "usage": usage.model_dump(),
            **cost_fields(ctx, usage, exc.replies[-1].model, config.model),
        },
    )


async def run_ai(config: AiConfig, ctx: RunContext) -> Outcome:
    key = provider_key(config.provider, ctx)
    scrub = KeyScrubber(key.api_key)
    provider = make_provider(config.provider, key, ctx.http, ctx.settings.ai_timeout_s)
    request = chat_request(config)
    on_text = ctx.progress.emit if config.stream else None
    try:
        if config.json_schema is None:
            reply = await provider.complete(request, on_text)
            return Outcome(output=_output(ctx, config, reply, reply.usage))
        structured = await complete_structured(provider, request, on_text)
        output = _output(ctx, config, structured.reply, structured.usage)
        return Outcome(output={**output, "json": structured.value})
    except SchemaMismatch as exc:
        raise _mismatch(ctx, config, exc) from None
    except NodeRunError:
        raise
    except Exception as exc:  # an SDK surprise: report it, never with the key in it
        raise NodeRunError(
            f"the {config.provider} call failed: {scrub(str(exc)) or type(exc).__name__}",
            type="AiError",
        ) from None
    finally:
        if on_text is not None:
            await ctx.progress.flush()
