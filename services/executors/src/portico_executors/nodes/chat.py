"""slack and discord: post one message through the webhook URL in the node's credential.

The webhook URL *is* the secret (anyone holding it can post), so it never appears in an
output, an error or a details dict: errors say "the Slack webhook" instead, and any text a
service sends back is scrubbed of the URL before it is shown.

Both post through the shared SSRF-guarded client, with `Idempotency-Key:
<execution>:<node>:<attempt>` (the services ignore it; a receiver of our own can dedupe on it).
A 429 is retryable and tells the orchestrator how long to wait (`details["retry_after_s"]`),
like the http node; 5xx, timeouts and connection errors are retryable; any other refusal is
not, and carries the service's own error text.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from portico_contracts.credentials import IncomingWebhook
from portico_contracts.nodes import DiscordConfig, SlackConfig
from portico_executors.errors import NodeRunError
from portico_executors.http_guard import BlockedRequestError
from portico_executors.nodes.base import Outcome, RunContext
from portico_executors.nodes.http import (
    DETAIL_BODY_CHARS,
    IDEMPOTENCY_HEADER,
    decode_text,
    idempotency_key,
    parse_retry_after,
    retry_after_of,
)

# One webhook call; the node's own timeout_s (enforced around the run) may cut it shorter.
REQUEST_TIMEOUT_S = 30.0
# Largest answer read: Slack says "ok", Discord returns one message object.
MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where to post, and the words that stand for it in errors."""

    service: str  # "Slack"
    credential_type: str  # "slack_webhook"
    url: httpx.URL

    @property
    def label(self) -> str:
        return f"the {self.service} webhook"

    def scrub(self, text: str) -> str:
        """`text` with the URL (or its secret path) replaced by a placeholder."""
        for secret in (str(self.url), self.url.raw_path.decode("ascii", "replace")):
            if len(secret) > 1:
                text = text.replace(secret, "<webhook>")
        return text


def webhook_of(ctx: RunContext, service: str, credential_type: str) -> Webhook:
    credential = ctx.credential
    if not isinstance(credential, IncomingWebhook):
        raise NodeRunError(
            f"a {ctx.ready.node_type} node needs a {credential_type} credential: set the "
            "node's credential_id",
            type="CredentialMissing",
        )
    try:
        url = httpx.URL(str(credential.url))
    except (httpx.InvalidURL, ValueError):  # its text would quote the URL
        raise NodeRunError(
            f"the {service} webhook URL in the credential is not usable; update it",
            type="CredentialInvalid",
        ) from None
    return Webhook(service, credential_type, url)


async def _read_answer(response: httpx.Response, webhook: Webhook) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise NodeRunError(
                f"{webhook.label} answered with more than {MAX_ANSWER_BYTES} bytes",
                type="ChatInvalidResponse",
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def post_json(
    ctx: RunContext, webhook: Webhook, payload: dict[str, Any], url: httpx.URL | None = None
) -> tuple[httpx.Response, bytes]:
    """POST `payload` to the webhook; every transport problem becomes a NodeRunError that
    names the webhook, never its URL."""
    try:
        request = ctx.http.build_request(
            "POST",
            url or webhook.url,
            json=payload,
            headers={IDEMPOTENCY_HEADER: idempotency_key(ctx)},
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S),
        )
        async with asyncio.timeout(REQUEST_TIMEOUT_S):  # httpx's timeouts are per phase
            response = await ctx.http.send(request, stream=True, follow_redirects=False)
            try:
                return response, await _read_answer(response, webhook)
            finally:
                await response.aclose()
    except BlockedRequestError as exc:
        raise NodeRunError(
            f"{webhook.label} may not be reached: {webhook.scrub(exc.reason)}",
            type="HttpRequestBlocked",
        ) from None
    except (TimeoutError, httpx.TimeoutException):
        raise NodeRunError(
            f"{webhook.label} did not answer within {REQUEST_TIMEOUT_S:g} s",
            type="Timeout",
            retryable=True,
        ) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise NodeRunError(
            f"{webhook.label} URL in the credential is not usable; update it",
            type="CredentialInvalid",
        ) from None
    except httpx.TransportError as exc:  # `from None`: the chained text may hold the URL
        raise NodeRunError(
            f"could not reach {webhook.label}: {webhook.scrub(str(exc)) or type(exc).__name__}",
            type="HttpConnectionError",
            retryable=True,
        ) from None
    except (httpx.HTTPError, ValueError, TypeError) as exc:  # a broken answer, an odd payload
        raise NodeRunError(
            f"posting to {webhook.label} failed: {type(exc).__name__}",
            type="ChatInvalidResponse",
        ) from None


def refusal(
    webhook: Webhook, response: httpx.Response, error_text: str, retry_after_s: float | None
) -> NodeRunError:
    """The failure a non-2xx answer amounts to, with the service's own error text."""
    status = response.status_code
    text = webhook.scrub(error_text)[:DETAIL_BODY_CHARS]
    details: dict[str, Any] = {"status": status, "error": text}
    if status == 429:
        if retry_after_s is not None:
            details["retry_after_s"] = retry_after_s
        return NodeRunError(
            f"{webhook.label} is rate limiting us (HTTP 429): {text}",
            type="RateLimited",
            retryable=True,
            details=details,
        )
    if status >= 500 and retry_after_s is not None:
        details["retry_after_s"] = retry_after_s
    return NodeRunError(
        f"{webhook.label} refused the message: HTTP {status} {text}".rstrip(),
        type=f"{webhook.service}Error",
        retryable=status >= 500,
        details=details,
    )


# --- slack ------------------------------------------------------------------------------------


def slack_payload(config: SlackConfig) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": config.text}
    if config.blocks is not None:
        payload["blocks"] = config.blocks
    if config.unfurl_links is not None:
        payload["unfurl_links"] = config.unfurl_links
    return payload


async def run_slack(config: SlackConfig, ctx: RunContext) -> Outcome:
    webhook = webhook_of(ctx, "Slack", "slack_webhook")
    response, raw = await post_json(ctx, webhook, slack_payload(config))
    if not response.is_success:
        # Slack answers errors as short text codes: "invalid_payload", "channel_not_found".
        text = decode_text(response, raw[: DETAIL_BODY_CHARS * 4]).strip()
        raise refusal(webhook, response, text, retry_after_of(response))
    return Outcome(output={"ok": True, "status": response.status_code})


# --- discord ----------------------------------------------------------------------------------


def discord_payload(config: DiscordConfig) -> dict[str, Any]:
    # Unset fields are left out (embeds keep the extra fields Discord knows: color, fields…).
    return config.model_dump(mode="json", exclude_none=True)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def _discord_error(response: httpx.Response, raw: bytes) -> tuple[str, float | None]:
    """Discord's error text ("message", with its numeric "code") and, on a 429, the precise
    `retry_after` of the body (seconds, a float), else the Retry-After header."""
    body = _json_or_none(raw)
    retry_after = retry_after_of(response)
    if not isinstance(body, dict):
        return decode_text(response, raw[: DETAIL_BODY_CHARS * 4]).strip(), retry_after
    text = str(body.get("message", ""))
    if "code" in body:
        text = f"{text} (code {body['code']})"
    precise = body.get("retry_after")
    if response.status_code == 429 and isinstance(precise, int | float) and precise >= 0:
        retry_after = parse_retry_after(str(precise))
    return text, retry_after


async def run_discord(config: DiscordConfig, ctx: RunContext) -> Outcome:
    webhook = webhook_of(ctx, "Discord", "discord_webhook")
    # wait=true: Discord answers with the message it created (id, channel_id, …), not a 204.
    url = webhook.url.copy_merge_params({"wait": "true"})
    response, raw = await post_json(ctx, webhook, discord_payload(config), url)
    if not response.is_success:
        text, retry_after = _discord_error(response, raw)
        raise refusal(webhook, response, text, retry_after)
    message = _json_or_none(raw) if response.status_code != 204 else None
    return Outcome(output={"ok": True, "status": response.status_code, "message": message})
