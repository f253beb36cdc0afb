"""OpenAI (and any server speaking its Chat Completions API) through `openai.AsyncOpenAI`.

Structured output is native: `response_format` of type `json_schema`, not strict (strict
mode refuses schemas without `additionalProperties: false` everywhere, which users' schemas
rarely have); the answer is still validated by us. A stream asks for a last chunk with the
usage (`stream_options.include_usage`).
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from portico_contracts.credentials import ModelProviderKey
from portico_executors.ai import protocol
from portico_executors.ai.protocol import ChatReply, ChatRequest, KeyScrubber, TextSink
from portico_executors.ai.transport import sdk_http_client

NAME = "openai"
_ERRORS = protocol.SdkErrors(
    openai.APITimeoutError, openai.APIConnectionError, openai.APIStatusError
)


class OpenAiProvider:
    name = NAME

    def __init__(self, key: ModelProviderKey, http: httpx.AsyncClient, timeout_s: float) -> None:
        self.scrub = KeyScrubber(key.api_key)
        self.client = openai.AsyncOpenAI(
            api_key=key.api_key,
            base_url=str(key.base_url) if key.base_url else None,
            max_retries=0,  # the orchestrator's retry policy decides
            timeout=timeout_s,
            http_client=sdk_http_client(http),
        )

    async def complete(self, request: ChatRequest, on_text: TextSink | None = None) -> ChatReply:
        try:
            if request.stream:
                return await self._streamed(request, on_text)
            completion = await self.client.chat.completions.create(**_arguments(request))
            return _reply(completion)
        except openai.APIError as exc:
            raise protocol.sdk_failure(NAME, exc, exc.message, _ERRORS, self.scrub) from None
        except protocol.UNWRAPPED_ERRORS as exc:
            raise protocol.transport_failure(NAME, exc, self.scrub) from None

    async def _streamed(self, request: ChatRequest, on_text: TextSink | None) -> ChatReply:
        stream = await self.client.chat.completions.create(
            **_arguments(request), stream=True, stream_options={"include_usage": True}
        )
        pieces: list[str] = []
        model, finish = request.model, None
        usage = protocol.usage_of(0, 0)
        async with stream:
            async for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = protocol.usage_of(
                        chunk.usage.prompt_tokens, chunk.usage.completion_tokens
                    )
                delta, finished = _chunk_text(chunk)
                finish = finished or finish
                if delta:
                    pieces.append(delta)
                    if on_text is not None:
                        await on_text(delta)
        return ChatReply("".join(pieces), usage, model, finish)


def _arguments(request: ChatRequest) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": turn.role, "content": turn.text} for turn in request.turns]
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_completion_tokens": request.max_tokens,
    }
    if request.temperature is not None:
        arguments["temperature"] = request.temperature
    if request.json_schema is not None:
        arguments["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": dict(request.json_schema), "strict": False},
        }
    return arguments


def _chunk_text(chunk: ChatCompletionChunk) -> tuple[str, str | None]:
    if not chunk.choices:
        return "", None  # the usage chunk
    choice = chunk.choices[0]
    return choice.delta.content or "", choice.finish_reason


def _reply(completion: ChatCompletion) -> ChatReply:
    usage = completion.usage
    usage_tokens = protocol.usage_of(
        usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0
    )
    if not completion.choices:
        return ChatReply("", usage_tokens, completion.model, None)
    choice = completion.choices[0]
    return ChatReply(
        choice.message.content or "", usage_tokens, completion.model, choice.finish_reason
    )
