"""Is a webhook request genuine? Per trigger node: no check, a token in a header, a generic
HMAC-SHA256 signature of the raw body, or Stripe's `Stripe-Signature` scheme.

The secret is the node's `hmac_secret` credential, and only the credentials service compares
against it (`check_secret`): the gateway sends what the request carried and learns yes or no.
A request that fails gets a 401 and starts nothing; the reason names what was missing or
wrong, never what was expected.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from portico_contracts.triggers import WebhookAuth
from portico_gateway.credentials_client import CredentialsClient
from portico_gateway.errors import PorticoError

STRIPE_HEADER = "stripe-signature"
# Signatures one request may carry (Stripe sends one per active secret during a roll).
MAX_SIGNATURES = 8


class WebhookUnauthorizedError(PorticoError):
    code, status = "webhook_unauthorized", 401


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise WebhookUnauthorizedError(f"the request has no {name} header")
    return value


def stripe_signed_payload(
    header: str, body: bytes, tolerance_s: int, now: float
) -> tuple[bytes, list[str]]:
    """Stripe signs `<t>.<raw body>`; the header is `t=<unix time>,v1=<hex>[,v1=<hex>…]`."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookUnauthorizedError("Stripe-Signature needs a timestamp (t=) and a v1 signature")
    if abs(now - timestamp) > tolerance_s:
        raise WebhookUnauthorizedError(
            f"Stripe-Signature timestamp is outside the tolerance of {tolerance_s} s"
        )
    return f"{timestamp}.".encode() + body, signatures[:MAX_SIGNATURES]


async def check_webhook(
    auth: WebhookAuth,
    credential_id: str | None,
    tenant_id: str,
    body: bytes,
    headers: Mapping[str, str],
    credentials: CredentialsClient,
    now: float | None = None,
) -> None:
    """Return if the request passes the node's check; else raise WebhookUnauthorizedError.
    `headers` have lower-case names."""
    if auth.type == "none":
        return
    if credential_id is None:
        raise WebhookUnauthorizedError(
            "this webhook checks signatures but its node names no hmac_secret credential"
        )
    if auth.type == "header":
        valid = await credentials.check_secret(
            tenant_id, credential_id, "token", [_header(headers, auth.header)]
        )
    elif auth.type == "hmac":
        signature = _header(headers, auth.header).strip()
        if auth.prefix and not signature.startswith(auth.prefix):
            raise WebhookUnauthorizedError(f"{auth.header} does not start with '{auth.prefix}'")
        candidate = signature.removeprefix(auth.prefix)
        valid = await credentials.check_secret(tenant_id, credential_id, "hmac", [candidate], body)
    else:
        payload, signatures = stripe_signed_payload(
            _header(headers, STRIPE_HEADER),
            body,
            auth.tolerance_s,
            time.time() if now is None else now,
        )
        valid = await credentials.check_secret(
            tenant_id, credential_id, "hmac", signatures, payload
        )
    if not valid:
        raise WebhookUnauthorizedError(f"the webhook's {auth.type} check failed")
