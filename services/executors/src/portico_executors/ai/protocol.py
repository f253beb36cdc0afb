"""What every model provider adapter takes and gives, and how its failures are reported.

An adapter (openai_provider.py, anthropic_provider.py, gemini_provider.py) turns one
`ChatRequest` into one call of the provider's official SDK, with the SDK's own retries off
(the orchestrator owns retries), and answers a `ChatReply`, or raises `NodeRunError`:

- 408, 409, 429, 5xx, connection errors, timeouts: retryable, with the provider's own
  message and `details.retry_after_s` when the answer carried Retry-After;
- any other refusal (400, 401, 403, 404, 422): not retryable, with the provider's message.

The API key never appears in a message or a details dict: every text a provider sends back
is scrubbed of it before it is shown (`KeyScrubber`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx2

from portico_contracts.ai import TokenUsage
from portico_executors.errors import NodeRunError
from portico_executors.http_guard import BlockedRequestError

TextSink = Callable[[str], Awaitable[None]]
Role = Literal["user", "assistant"]
# Statuses worth another attempt besides 5xx: timeout, conflict, rate limit.
RETRYABLE_STATUS = frozenset({408, 409, 429})
MESSAGE_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    turns: tuple[Turn, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int = 1024
    # Ask the provider for JSON matching this schema, natively where it can.
    json_schema: Mapping[str, Any] | None = None
    # Stream the answer; each text delta goes to the sink given to `complete`.
    stream: bool = False

    def followed_by(self, *turns: Turn) -> ChatRequest:
        return ChatRequest(
            self.model,
            self.turns + turns,
            self.system,
            self.temperature,
            self.max_tokens,
            self.json_schema,
            self.stream,
        )


@dataclass(frozen=True, slots=True)
class ChatReply:
    text: str
    usage: TokenUsage
    model: str  # as the provider reports it
    finish_reason: str | None


class ChatProvider(Protocol):
    name: str

    async def complete(self, request: ChatRequest, on_text: TextSink | None = None) -> ChatReply:
        """One model call. With `request.stream`, text deltas go to `on_text` as they come."""
        ...


@dataclass(frozen=True, slots=True)
class KeyScrubber:
    """Removes the API key from any text headed for a message, details or a log line."""

    api_key: str = field(repr=False)

    def __call__(self, text: str) -> str:
        if len(self.api_key) >= 4:
            text = text.replace(self.api_key, "<api key>")
        return text[:MESSAGE_CHARS]


LABELS = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Gemini"}


def status_failure(
    provider: str,
    status: int,
    message: str,
    headers: Mapping[str, str] | None,
    scrub: KeyScrubber,
) -> NodeRunError:
    """A provider's refusal (an HTTP status) as a node failure."""
    label = LABELS.get(provider, provider)
    text = scrub(message.strip() or "no error message")
    details: dict[str, Any] = {"provider": provider, "status": status}
    retryable = status >= 500 or status in RETRYABLE_STATUS
    retry_after = _retry_after(headers) if retryable else None
    if retry_after is not None:
        details["retry_after_s"] = retry_after
    kind = "AiRateLimited" if status == 429 else "AiProviderError"
    return NodeRunError(
        f"{label} answered HTTP {status}: {text}", type=kind, retryable=retryable, details=details
    )


def provider_message(body: object, fallback: str) -> str:
    """The provider's own words: `error.message` of an error body (OpenAI's and Anthropic's
    shape), else the SDK's summary."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return fallback


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    # Imported here: the nodes package imports the ai runner, which imports this module.
    from portico_executors.nodes.http import parse_retry_after

    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        milliseconds = headers.get("retry-after-ms")  # OpenAI and Anthropic send it too
        if milliseconds is None:
            return None
        try:
            return parse_retry_after(str(float(milliseconds) / 1000))
        except ValueError:
            return None
    return parse_retry_after(value)


def timeout_failure(provider: str) -> NodeRunError:
    return NodeRunError(
        f"{LABELS.get(provider, provider)} did not answer in time",
        type="Timeout",
        retryable=True,
        details={"provider": provider},
    )


def connection_failure(provider: str, problem: str, scrub: KeyScrubber) -> NodeRunError:
    return NodeRunError(
        f"could not reach {LABELS.get(provider, provider)}: {scrub(problem)}",
        type="AiConnectionError",
        retryable=True,
        details={"provider": provider},
    )


def blocked_failure(provider: str, exc: BlockedRequestError, scrub: KeyScrubber) -> NodeRunError:
    return NodeRunError(
        f"{LABELS.get(provider, provider)} base URL may not be reached: {scrub(exc.reason)}",
        type="HttpRequestBlocked",
        details={"provider": provider, "host": exc.host},
    )


def invalid_answer(provider: str, problem: str, scrub: KeyScrubber) -> NodeRunError:
    return NodeRunError(
        f"{LABELS.get(provider, provider)} sent an answer we cannot read: {scrub(problem)}",
        type="AiInvalidResponse",
        details={"provider": provider},
    )


def transport_failure(provider: str, exc: Exception, scrub: KeyScrubber) -> NodeRunError:
    """What escapes an SDK unwrapped: the guard's refusal, or a connection that broke while
    a streamed answer was being read."""
    if isinstance(exc, BlockedRequestError):
        return blocked_failure(provider, exc, scrub)
    if isinstance(exc, httpx2.TimeoutException):
        return timeout_failure(provider)
    return connection_failure(provider, str(exc) or type(exc).__name__, scrub)


# Exceptions an SDK lets through as they are (see `transport_failure`).
UNWRAPPED_ERRORS = (BlockedRequestError, httpx2.TransportError)


def blocked_cause(exc: BaseException) -> BlockedRequestError | None:
    """The guard's refusal, if it is what made the SDK fail (directly or as a cause)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, BlockedRequestError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def usage_of(input_tokens: int | None, output_tokens: int | None) -> TokenUsage:
    given_in, given_out = input_tokens or 0, output_tokens or 0
    return TokenUsage(
        input_tokens=given_in, output_tokens=given_out, total_tokens=given_in + given_out
    )
