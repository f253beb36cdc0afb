"""Local stand-ins for the OpenAI, Anthropic and Gemini APIs, speaking their wire formats, so
the real SDKs can be pointed at them by base URL.

    async with fake_openai() as server:            # or fake_anthropic(), fake_gemini()
        credential = {"api_key": "sk-test", "base_url": server.base_url}
        server.script("first answer", AiReply(text='{"ok": true}', output_tokens=9))
        server.script(AiReply(status=429, retry_after=3, error="slow down"))
        ...
        body = server.requests[0].json             # what the SDK sent
        server.requests[0].headers["authorization"]

Scripted replies are used in order, one per request; with none left, `server.default` (text
"Hello from the fake model.") answers. Each reply streams when the request asked for a
stream, split into `chunk_chars`-sized deltas (`chunk_delay_s` apart).

- OpenAI: `POST /v1/chat/completions` (`base_url` ends in `/v1`, like the real one), JSON or
  SSE chunks (`data: {...}`, `data: [DONE]`), a final usage chunk when the request set
  `stream_options.include_usage`. Errors `{"error": {"message", "type", "param", "code"}}`.
- Anthropic: `POST /v1/messages` (key in `x-api-key` or `Authorization: Bearer`), JSON or
  the SSE event stream (message_start, content_block_start, ping, content_block_delta…,
  content_block_stop, message_delta with the usage, message_stop). Errors
  `{"type": "error", "error": {"type", "message"}}`.
- Gemini: `POST /v1beta/models/{model}:generateContent` (or /v1/…, as the SDK picks) and
  `:streamGenerateContent?alt=sse`. Errors `{"error": {"code", "message", "status"}}`; a 429
  also carries a `google.rpc.RetryInfo` detail when `retry_after` is set.

Each checks the API key header is present (401 otherwise, like the real ones) and records
every request (path, query, lower-case headers, body), refused ones too, in order. A bare ASGI
app served by uvicorn on 127.0.0.1 (an ephemeral port), in the test's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .serving import RecordedRequest, Send, recording_app, serve_asgi, start_response

DEFAULT_TEXT = "Hello from the fake model."


@dataclass(frozen=True)
class AiReply:
    """One scripted answer. `status` other than 200 makes it an error with `error` as the
    provider's message (and Retry-After when `retry_after` is set)."""

    text: str = DEFAULT_TEXT
    input_tokens: int = 12
    output_tokens: int = 8
    model: str | None = None  # reported model; None: the one asked for
    finish_reason: str | None = None  # None: the provider's "normal stop"
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    chunk_chars: int = 4
    chunk_delay_s: float = 0.0

    def chunks(self) -> list[str]:
        size = max(1, self.chunk_chars)
        return [self.text[i : i + size] for i in range(0, len(self.text), size)] or [""]


@dataclass
class FakeAiServer:
    provider: str
    base_url: str = ""  # what a credential's base_url should be
    requests: list[RecordedRequest] = field(default_factory=list)
    default: AiReply = field(default_factory=AiReply)
    _script: list[AiReply] = field(default_factory=list)

    def script(self, *replies: AiReply | str) -> None:
        """Queue replies (a str is a reply with that text), used one per request."""
        self._script += [AiReply(text=r) if isinstance(r, str) else r for r in replies]

    def fail_next(
        self, status: int, error: str | None = None, retry_after: float | None = None
    ) -> None:
        self.script(AiReply(status=status, error=error, retry_after=retry_after))

    def next_reply(self) -> AiReply:
        return self._script.pop(0) if self._script else self.default

    @property
    def bodies(self) -> list[Any]:
        return [request.json for request in self.requests]


@dataclass(frozen=True)
class Answer:
    """What the app sends: one body, or (for a stream) pieces with a delay between them."""

    status: int
    content_type: str
    pieces: list[bytes]
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0


def _json(status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, "application/json", [json.dumps(value).encode()], headers)


def _retry_headers(reply: AiReply) -> tuple[tuple[str, str], ...]:
    return () if reply.retry_after is None else (("retry-after", f"{reply.retry_after:g}"),)


def _sse(pieces: Iterator[bytes], reply: AiReply) -> Answer:
    return Answer(200, "text/event-stream", list(pieces), delay_s=reply.chunk_delay_s)


# --- OpenAI -----------------------------------------------------------------------------------

_OPENAI_ERRORS = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
    500: "server_error",
}


def _openai_error(reply: AiReply) -> Answer:
    message = reply.error or f"fake error {reply.status}"
    code = "rate_limit_exceeded" if reply.status == 429 else None
    error = {
        "message": message,
        "type": _OPENAI_ERRORS.get(reply.status, "server_error"),
        "param": None,
        "code": code,
    }
    return _json(reply.status, {"error": error}, _retry_headers(reply))


def _openai_chunk(base: dict[str, Any], choices: list[Any], usage: Any = None) -> bytes:
    chunk = {**base, "choices": choices}
    if "usage" in base or usage is not None:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _openai_stream(
    reply: AiReply, model: str, usage: dict[str, int], include_usage: bool
) -> Iterator[bytes]:
    base: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
    }
    if include_usage:
        base["usage"] = None
    first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    yield _openai_chunk(base, [first])
    for piece in reply.chunks():
        if piece:
            delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            yield _openai_chunk(base, [delta])
    last = {"index": 0, "delta": {}, "finish_reason": reply.finish_reason or "stop"}
    yield _openai_chunk(base, [last])
    if include_usage:
        yield _openai_chunk(base, [], usage)
    yield b"data: [DONE]\n\n"


def openai_answer(server: FakeAiServer, request: RecordedRequest) -> Answer:
    if request.method != "POST" or request.path != "/v1/chat/completions":
        return _openai_error(AiReply(status=404, error=f"Invalid URL ({request.path})"))
    if not request.headers.get("authorization", "").startswith("Bearer "):
        return _openai_error(AiReply(status=401, error="You didn't provide an API key."))
    reply = server.next_reply()
    if reply.status != 200:
        return _openai_error(reply)
    body = request.json
    model = reply.model or body["model"]
    usage = {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }
    if body.get("stream"):
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        return _sse(_openai_stream(reply, model, usage, include), reply)
    message = {"role": "assistant", "content": reply.text, "refusal": None}
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": reply.finish_reason or "stop",
    }
    completion = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
        "system_fingerprint": "fp_fake",
    }
    return _json(200, completion)


# --- Anthropic --------------------------------------------------------------------------------

_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _anthropic_error(reply: AiReply) -> Answer:
    error = {
        "type": _ANTHROPIC_ERRORS.get(reply.status, "api_error"),
        "message": reply.error or f"fake error {reply.status}",
    }
    return _json(reply.status, {"type": "error", "error": error}, _retry_headers(reply))


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _anthropic_stream(reply: AiReply, message: dict[str, Any]) -> Iterator[bytes]:
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
    }
    yield _event("message_start", {"type": "message_start", "message": start})
    block = {"type": "text", "text": ""}
    yield _event(
        "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    )
    yield _event("ping", {"type": "ping"})
    for piece in reply.chunks():
        delta = {"type": "text_delta", "text": piece}
        yield _event(
            "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
        )
    yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": reply.output_tokens}
    yield _event("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
    yield _event("message_stop", {"type": "message_stop"})


def anthropic_answer(server: FakeAiServer, request: RecordedRequest) -> Answer:
    if request.method != "POST" or request.path != "/v1/messages":
        return _anthropic_error(AiReply(status=404, error=f"Not found: {request.path}"))
    # The SDK sends the key as `x-api-key` or (newer versions) `Authorization: Bearer`.
    if not request.headers.get("x-api-key") and not request.headers.get("authorization"):
        return _anthropic_error(AiReply(status=401, error="x-api-key header is required"))
    reply = server.next_reply()
    if reply.status != 200:
        return _anthropic_error(reply)
    body = request.json
    message = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or body["model"],
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": reply.finish_reason or "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }
    if body.get("stream"):
        return _sse(_anthropic_stream(reply, message), reply)
    return _json(200, message)


# --- Gemini -----------------------------------------------------------------------------------

_GEMINI_PATH = re.compile(
    r"^/v1(?:beta|alpha)?/models/(?P<model>[^:/]+):(?P<method>generateContent|streamGenerateContent)$"
)
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def _gemini_error(reply: AiReply) -> Answer:
    error: dict[str, Any] = {
        "code": reply.status,
        "message": reply.error or f"fake error {reply.status}",
        "status": _GEMINI_STATUS.get(reply.status, "UNKNOWN"),
    }
    if reply.status == 429 and reply.retry_after is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{reply.retry_after:g}s",
            }
        ]
    return _json(reply.status, {"error": error})  # Gemini sends no Retry-After header


def _gemini_chunk(
    text: str, model: str, reply: AiReply, output_tokens: int, finish: bool
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
    if finish:
        candidate["finishReason"] = reply.finish_reason or "STOP"
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": reply.input_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": reply.input_tokens + output_tokens,
        },
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:22],
    }


def _gemini_stream(reply: AiReply, model: str) -> Iterator[bytes]:
    pieces = reply.chunks()
    for number, piece in enumerate(pieces, start=1):
        last = number == len(pieces)
        tokens = reply.output_tokens if last else max(1, reply.output_tokens * number // 2)
        chunk = _gemini_chunk(piece, model, reply, min(tokens, reply.output_tokens), last)
        yield b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"


def gemini_answer(server: FakeAiServer, request: RecordedRequest) -> Answer:
    matched = _GEMINI_PATH.match(request.path)
    if request.method != "POST" or matched is None:
        return _gemini_error(AiReply(status=404, error=f"Not found: {request.path}"))
    if not request.headers.get("x-goog-api-key") and "key" not in request.query:
        return _gemini_error(AiReply(status=403, error="Method doesn't allow unregistered callers"))
    reply = server.next_reply()
    if reply.status != 200:
        return _gemini_error(reply)
    model = reply.model or matched.group("model")
    if matched.group("method") == "streamGenerateContent":
        return _sse(_gemini_stream(reply, model), reply)
    return _json(200, _gemini_chunk(reply.text, model, reply, reply.output_tokens, True))


# --- serving ----------------------------------------------------------------------------------

Responder = Callable[[FakeAiServer, RecordedRequest], Answer]


async def _send(send: Send, answer: Answer) -> None:
    await start_response(send, answer.status, answer.content_type, answer.headers)
    for number, piece in enumerate(answer.pieces, start=1):
        more = number < len(answer.pieces)
        await send({"type": "http.response.body", "body": piece, "more_body": more})
        if more and answer.delay_s:
            await asyncio.sleep(answer.delay_s)


@contextlib.asynccontextmanager
async def _fake(
    provider: str, respond: Responder, api_root: str = ""
) -> AsyncIterator[FakeAiServer]:
    """The fake for `provider`; its `base_url` is the server's root plus `api_root`."""
    server = FakeAiServer(provider)

    async def handle(request: RecordedRequest, send: Send) -> None:
        await _send(send, respond(server, request))

    async with serve_asgi(recording_app(server.requests, handle)) as root:
        server.base_url = root + api_root
        yield server


def fake_openai() -> contextlib.AbstractAsyncContextManager[FakeAiServer]:
    return _fake("openai", openai_answer, api_root="/v1")  # like the real base URL


def fake_anthropic() -> contextlib.AbstractAsyncContextManager[FakeAiServer]:
    return _fake("anthropic", anthropic_answer)


def fake_gemini() -> contextlib.AbstractAsyncContextManager[FakeAiServer]:
    return _fake("gemini", gemini_answer)


FAKES = {"openai": fake_openai, "anthropic": fake_anthropic, "gemini": fake_gemini}


def fake_ai(provider: str) -> contextlib.AbstractAsyncContextManager[FakeAiServer]:
    """The fake for `provider` ("openai", "anthropic" or "gemini")."""
    return FAKES[provider]()
