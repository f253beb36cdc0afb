"""Anthropic's Messages API through `anthropic.AsyncAnthropic`.

Structured output: the system prompt carries the JSON Schema and asks for one JSON value and
nothing else (works on every model; `structured.py` parses and validates what comes back).
A stream is read event by event: `message_start` (model, input tokens),
`content_block_delta` (text), `message_delta` (stop reason, output tokens).
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
from anthropic.types import Message, RawMessageStreamEvent

from portico_contracts.credentials import ModelProviderKey
from portico_executors.ai import protocol
from portico_executors.ai.protocol import ChatReply, ChatRequest, KeyScrubber, TextSink
from portico_executors.ai.transport import sdk_http_client

NAME = "anthropic"
_ERRORS = protocol.SdkErrors(
    anthropic.APITimeoutError, anthropic.APIConnectionError, anthropic.APIStatusError
)


def json_instruction(schema: Any) -> str:
    return (
        "Answer with a single JSON value that satisfies this JSON Schema, and nothing else "
        "(no prose, no code fence):\n" + json.dumps(schema, separators=(",", ":"))
    )


class AnthropicProvider:
    name = NAME

    def __init__(self, key: ModelProviderKey, http: httpx.AsyncClient, timeout_s: float) -> None:
        self.scrub = KeyScrubber(key.api_key)
        self.client = anthropic.AsyncAnthropic(
            api_key=key.api_key,
            base_url=str(key.base_url).rstrip("/") if key.base_url else None,
            max_retries=0,  # the orchestrator's retry policy decides
            timeout=timeout_s,
            http_client=sdk_http_client(http),
        )

    async def complete(self, request: ChatRequest, on_text: TextSink | None = None) -> ChatReply:
        try:
            if request.stream:
                return await self._streamed(request, on_text)
            message = await self.client.messages.create(**_arguments(request))
            return _reply(message)
        except anthropic.APIError as exc:
            raise protocol.sdk_failure(NAME, exc, exc.message, _ERRORS, self.scrub) from None
        except protocol.UNWRAPPED_ERRORS as exc:
            raise protocol.transport_failure(NAME, exc, self.scrub) from None

    async def _streamed(self, request: ChatRequest, on_text: TextSink | None) -> ChatReply:
        stream = await self.client.messages.create(**_arguments(request), stream=True)
        state = _StreamState(request.model)
        async with stream:
            async for event in stream:
                delta = state.take(event)
                if delta:
                    state.pieces.append(delta)
                    if on_text is not None:
                        await on_text(delta)
        return state.reply()


class _StreamState:
    def __init__(self, model: str) -> None:
        self.model = model
        self.pieces: list[str] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.stop_reason: str | None = None

    def take(self, event: RawMessageStreamEvent) -> str:
        """Note what the event says; its text delta, if it carries one."""
        if event.type == "message_start":
            self.model = event.message.model or self.model
            self.input_tokens = event.message.usage.input_tokens
            self.output_tokens = event.message.usage.output_tokens
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            return event.delta.text
        elif event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            # Cumulative counts: the last message_delta has the totals.
            self.output_tokens = event.usage.output_tokens
            if event.usage.input_tokens is not None:
                self.input_tokens = event.usage.input_tokens
        return ""

    def reply(self) -> ChatReply:
        usage = protocol.usage_of(self.input_tokens, self.output_tokens)
        return ChatReply("".join(self.pieces), usage, self.model, self.stop_reason)


def _arguments(request: ChatRequest) -> dict[str, Any]:
    system_parts = [part for part in (request.system,) if part]
    if request.json_schema is not None:
        system_parts.append(json_instruction(request.json_schema))
    arguments: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": turn.role, "content": turn.text} for turn in request.turns],
    }
    if system_parts:
        arguments["system"] = "\n\n".join(system_parts)
    if request.temperature is not None:
        # This SDK version no longer offers `temperature` (newer models drop sampling
        # parameters), while the API still takes it for the models that have it. Anthropic's
        # range is 0..1; the node allows 0..2 (OpenAI's), so clamp.
        arguments["extra_body"] = {"temperature": min(request.temperature, 1.0)}
    return arguments


def _reply(message: Message) -> ChatReply:
    text = "".join(block.text for block in message.content if block.type == "text")
    usage = protocol.usage_of(message.usage.input_tokens, message.usage.output_tokens)
    return ChatReply(text, usage, message.model, message.stop_reason)
