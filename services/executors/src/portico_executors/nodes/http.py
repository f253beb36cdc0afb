"""http: one HTTP request through the shared, SSRF-guarded httpx client.

Output: {"status": int, "headers": {lower-case name: value}, "body": JSON value or text}.
Failures say whether a retry can help: 5xx, 429, timeouts and connection errors can; other
4xx, refused destinations, bad URLs and oversized or unparsable responses cannot. A 429 or
503 with `Retry-After` tells the orchestrator how long to wait (`details["retry_after_s"]`).

Every request carries `Idempotency-Key: <execution>:<node>:<attempt>` (unless the node sets
that header itself): what a crash forces us to send again reaches the receiver with the same
key, so it can apply it once.

A node with a credential (http_bearer, http_basic, http_header) gets it as a header added at
send time, never in its recorded config; see http_auth.py.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from portico_contracts.nodes import HttpConfig
from portico_executors.errors import NodeRunError
from portico_executors.http_guard import BlockedRequestError, check_url
from portico_executors.nodes.base import Outcome, RunContext
from portico_executors.nodes.http_auth import RequestAuth, request_auth, same_origin

DETAIL_BODY_CHARS = 2_000
RETRYABLE_STATUS = frozenset({429})
# Statuses whose Retry-After means "come back later" (on a 3xx it means something else).
RETRY_AFTER_STATUS = frozenset({429, 503})
# A longer Retry-After is taken as an hour: a workflow step should not sleep for days on it.
MAX_RETRY_AFTER_S = 3600.0
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _field_value(value: Any) -> Any:
    """Query and form values: scalars and lists of scalars as-is, objects as JSON text."""
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return [_field_value(item) for item in value]
    return value


def _body_arguments(config: HttpConfig) -> dict[str, Any]:
    if config.body_type == "json":
        return {"json": config.body}
    if config.body_type == "form":
        return {"data": {key: _field_value(value) for key, value in config.body.items()}}
    if config.body_type == "raw":
        return {"content": config.body.encode()}
    return {}


def idempotency_key(ctx: RunContext) -> str:
    ready = ctx.ready
    return f"{ready.execution_id}:{ready.node_id}:{ready.attempt}"


def build_request(
    client: httpx.AsyncClient, config: HttpConfig, key: str | None = None
) -> httpx.Request:
    try:
        url = httpx.URL(config.url)
        check_url(url)
        headers = dict(config.headers)
        lowered = {name.lower() for name in headers}
        if config.body_type == "raw" and "content-type" not in lowered:
            headers["content-type"] = "text/plain; charset=utf-8"
        if key is not None and IDEMPOTENCY_HEADER.lower() not in lowered:
            headers[IDEMPOTENCY_HEADER] = key
        if config.query:  # added to any query already in the URL, not replacing it
            params = {key: _field_value(value) for key, value in config.query.items()}
            url = url.copy_merge_params(params)
        return client.build_request(
            config.method,
            url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s),
            **_body_arguments(config),
        )
    except BlockedRequestError as exc:
        raise _blocked(exc) from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
        raise NodeRunError(f"invalid request: {exc}", type="HttpInvalidRequest") from exc


def _blocked(exc: BlockedRequestError) -> NodeRunError:
    return NodeRunError(exc.reason, type="HttpRequestBlocked", details={"host": exc.host})


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # decoded bytes: a gzip bomb counts in full
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> NodeRunError:
    return NodeRunError(
        f"response body is larger than {limit} bytes (PORTICO_HTTP_MAX_RESPONSE_BYTES)",
        type="HttpResponseTooLarge",
    )


async def send(
    client: httpx.AsyncClient, request: httpx.Request, config: HttpConfig, limit: int
) -> tuple[httpx.Response, bytes]:
    """Send and read the body, mapping every transport problem to a NodeRunError."""
    host = request.url.host
    try:
        async with asyncio.timeout(config.timeout_s):  # httpx's timeouts are per phase
            response = await client.send(
                request, stream=True, follow_redirects=config.follow_redirects
            )
            try:
                return response, await _read_capped(response, limit)
            finally:
                await response.aclose()
    except BlockedRequestError as exc:
        raise _blocked(exc) from exc
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise NodeRunError(
            f"HTTP request to {host} timed out after {config.timeout_s:g} s",
            type="Timeout",
            retryable=True,
        ) from exc
    except httpx.TooManyRedirects as exc:
        raise NodeRunError(f"too many redirects from {host}", type="HttpTooManyRedirects") from exc
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        raise NodeRunError(f"invalid request: {exc}", type="HttpInvalidRequest") from exc
    except httpx.TransportError as exc:
        raise NodeRunError(
            f"HTTP request to {host} failed: {str(exc) or _unnamed(exc)}",
            type="HttpConnectionError",
            retryable=True,
        ) from exc
    except httpx.HTTPError as exc:  # DecodingError and friends: the response is broken
        raise NodeRunError(
            f"invalid response from {host}: {exc}", type="HttpInvalidResponse"
        ) from exc


def _unnamed(exc: httpx.TransportError) -> str:
    """httpx leaves some errors without words (a connection the peer broke): name the kind."""
    kinds = {
        httpx.ReadError: "the connection broke while reading the response",
        httpx.WriteError: "the connection broke while sending the request",
        httpx.ConnectError: "could not connect",
        httpx.RemoteProtocolError: "the server broke the HTTP protocol",
    }
    for kind, words in kinds.items():
        if isinstance(exc, kind):
            return words
    return type(exc).__name__


def decode_text(response: httpx.Response, raw: bytes) -> str:
    try:
        return raw.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # unknown charset name
        return raw.decode("utf-8", errors="replace")


def _is_json(response: httpx.Response) -> bool:
    media = str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse_body(response: httpx.Response, raw: bytes, response_format: str) -> Any:
    if response_format == "text":
        return decode_text(response, raw)
    if not raw.strip():
        return None if response_format == "json" or _is_json(response) else ""
    if response_format == "json" or _is_json(response):
        try:
            return json.loads(raw)
        except ValueError as exc:
            if response_format == "auto":  # it said JSON but is not: hand over the text
                return decode_text(response, raw)
            raise NodeRunError(
                f"response body is not valid JSON: {exc}", type="HttpInvalidResponse"
            ) from exc
    return decode_text(response, raw)


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or an HTTP-date), capped."""
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # RFC 9110 dates are GMT
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER_S)


def retry_after_of(response: httpx.Response) -> float | None:
    """Seconds a 429 or 503 asked us to wait (Retry-After), if it said."""
    if response.status_code not in RETRY_AFTER_STATUS:
        return None
    return parse_retry_after(response.headers.get("retry-after", ""))


def status_failure(response: httpx.Response, raw: bytes) -> NodeRunError:
    status = response.status_code
    details: dict[str, Any] = {
        "status": status,
        "body": decode_text(response, raw[: DETAIL_BODY_CHARS * 4])[:DETAIL_BODY_CHARS],
    }
    retry_after = retry_after_of(response)
    if retry_after is not None:
        details["retry_after_s"] = retry_after
    reason = response.reason_phrase or "error"
    return NodeRunError(
        f"HTTP {status} {reason} from {response.request.method} {response.url}",
        type="HttpStatusError",
        retryable=status >= 500 or status in RETRYABLE_STATUS,
        details=details,
    )


async def send_authenticated(
    client: httpx.AsyncClient,
    request: httpx.Request,
    config: HttpConfig,
    limit: int,
    auth: RequestAuth,
) -> tuple[httpx.Response, bytes]:
    """`send` with the credential on the request, following redirects here rather than in
    httpx: httpx keeps a custom header (an http_header credential) on a redirect to another
    host, handing the secret to whoever the first host points at. A hop to another origin,
    and every hop after it, goes without the credential."""
    auth.apply(request)
    one_hop = config.model_copy(update={"follow_redirects": False})
    for _ in range(client.max_redirects + 1):
        response, raw = await send(client, request, one_hop, limit)
        following = response.next_request
        if not config.follow_redirects or following is None:
            return response, raw
        if not same_origin(following.url, request.url):
            auth.remove(following)
        request = following
    raise NodeRunError(f"too many redirects from {request.url.host}", type="HttpTooManyRedirects")


def _outcome(config: HttpConfig, response: httpx.Response, raw: bytes) -> Outcome:
    if not response.is_success and not config.allow_non_2xx:
        raise status_failure(response, raw)
    body = None if config.method == "HEAD" else parse_body(response, raw, config.response_format)
    headers = dict(response.headers.items())
    return Outcome(output={"status": response.status_code, "headers": headers, "body": body})


async def run_http(config: HttpConfig, ctx: RunContext) -> Outcome:
    request = build_request(ctx.http, config, idempotency_key(ctx))
    limit = ctx.settings.http_response_limit
    auth = request_auth(ctx.credential)
    if auth is None:
        response, raw = await send(ctx.http, request, config, limit)
        return _outcome(config, response, raw)
    try:
        response, raw = await send_authenticated(ctx.http, request, config, limit, auth)
        outcome = _outcome(config, response, raw)
    except NodeRunError as failure:  # a server may echo the secret in its error page
        raise auth.redact_error(failure) from None
    return Outcome(output=auth.redact(outcome.output))
