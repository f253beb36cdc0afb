"""Google Gemini (the Gemini Developer API) through `google.genai.Client(...).aio`.

Structured output is native: `response_mime_type: application/json` with the schema as
`response_json_schema` (a plain JSON Schema; the older `response_schema` takes only an
OpenAPI subset). The SDK's retries are off (`HttpRetryOptions(attempts=1)`). Text of parts
marked `thought` (a thinking model's reasoning) is left out of the answer.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from portico_contracts.credentials import ModelProviderKey
from portico_executors.ai import protocol
from portico_executors.ai.protocol import ChatReply, ChatRequest, KeyScrubber, TextSink
from portico_executors.ai.transport import sdk_http_client
from portico_executors.errors import NodeRunError

NAME = "gemini"
_ROLES = {"user": "user", "assistant": "model"}


class GeminiProvider:
    name = NAME

    def __init__(self, key: ModelProviderKey, http: httpx.AsyncClient, timeout_s: float) -> None:
        self.scrub = KeyScrubber(key.api_key)
        options = types.HttpOptions(
            base_url=str(key.base_url) if key.base_url else None,
            timeout=int(timeout_s * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=sdk_http_client(http),
            # Given these, the SDK builds no TLS contexts of its own (~70 ms per client).
            httpx_client=_unused_sync_client(),
            async_client_args={"ssl": _websocket_tls()},
        )
        self.client = genai.Client(api_key=key.api_key, http_options=options).aio

    async def complete(self, request: ChatRequest, on_text: TextSink | None = None) -> ChatReply:
        try:
            if request.stream:
                return await self._streamed(request, on_text)
            response = await self.client.models.generate_content(
                model=request.model, contents=_contents(request), config=_config(request)
            )
            return _StreamState(request.model).take(response, []).reply()
        except genai_errors.APIError as exc:
            raise self._failure(exc) from None
        except protocol.UNWRAPPED_ERRORS as exc:
            raise protocol.transport_failure(NAME, exc, self.scrub) from None

    async def _streamed(self, request: ChatRequest, on_text: TextSink | None) -> ChatReply:
        chunks = await self.client.models.generate_content_stream(
            model=request.model, contents=_contents(request), config=_config(request)
        )
        state = _StreamState(request.model)
        async for chunk in chunks:
            deltas: list[str] = []
            state.take(chunk, deltas)
            for delta in deltas:
                if on_text is not None:
                    await on_text(delta)
        return state.reply()

    def _failure(self, exc: genai_errors.APIError) -> NodeRunError:
        headers = dict(getattr(exc.response, "headers", None) or {})
        if "retry-after" not in headers:
            delay = _retry_delay(exc.details)
            if delay is not None:
                headers["retry-after"] = delay
        message = exc.message or exc.status or "no error message"
        return protocol.status_failure(NAME, exc.code, str(message), headers, self.scrub)


def _retry_delay(body: Any) -> str | None:
    """Gemini says when to come back in the body (`google.rpc.RetryInfo`, "retryDelay":
    "34s"), not in a Retry-After header."""
    error = body.get("error", body) if isinstance(body, dict) else None
    found = error.get("details") if isinstance(error, dict) else None
    for detail in found if isinstance(found, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            return delay[:-1]
    return None


class _RefuseSync(httpx2.BaseTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("the gemini adapter makes async calls only")


@functools.cache
def _unused_sync_client() -> httpx2.Client:
    return httpx2.Client(transport=_RefuseSync(), trust_env=False)


@functools.cache
def _websocket_tls() -> ssl.SSLContext:
    # Only for the SDK's live (websocket) API, which we do not use; built once, not per call.
    return ssl.create_default_context()


class _StreamState:
    def __init__(self, model: str) -> None:
        self.model = model
        self.pieces: list[str] = []
        self.usage = protocol.usage_of(0, 0)
        self.finish_reason: str | None = None

    def take(self, response: types.GenerateContentResponse, deltas: list[str]) -> _StreamState:
        """Note one response (or stream chunk); its new text is appended to `deltas`."""
        self.model = response.model_version or self.model
        metadata = response.usage_metadata
        if metadata is not None:  # cumulative: the last chunk has the totals
            output = (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0)
            self.usage = protocol.usage_of(metadata.prompt_token_count, output)
        if response.candidates:
            candidate = response.candidates[0]
            if candidate.finish_reason is not None:
                reason = candidate.finish_reason
                self.finish_reason = str(getattr(reason, "value", reason))
            parts = candidate.content.parts if candidate.content else None
            for part in parts or []:
                if part.text and not part.thought:
                    deltas.append(part.text)
        self.pieces += deltas
        return self

    def reply(self) -> ChatReply:
        return ChatReply("".join(self.pieces), self.usage, self.model, self.finish_reason)


def _contents(request: ChatRequest) -> list[types.Content]:
    return [
        types.Content(role=_ROLES[turn.role], parts=[types.Part(text=turn.text)])
        for turn in request.turns
    ]


def _config(request: ChatRequest) -> types.GenerateContentConfig:
    values: dict[str, Any] = {"max_output_tokens": request.max_tokens}
    if request.system:
        values["system_instruction"] = request.system
    if request.temperature is not None:
        values["temperature"] = request.temperature
    if request.json_schema is not None:
        values["response_mime_type"] = "application/json"
        values["response_json_schema"] = dict(request.json_schema)
    return types.GenerateContentConfig(**values)
