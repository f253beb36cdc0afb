"""Webhook signatures are checked against an `hmac_secret` credential by the real credentials
service: a header token, a generic HMAC-SHA256 of the raw body, and Stripe's scheme."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker

from portico_contracts.triggers import WebhookAuth
from portico_credentials.app import running
from portico_credentials.config import Settings as CredentialsSettings
from portico_gateway.broker import open_rpc_channel
from portico_gateway.credentials_client import CredentialsClient
from portico_gateway.rpc import RpcClient
from portico_gateway.webhook_auth import WebhookUnauthorizedError, check_webhook
from tests.harness.vhosts import private_vhost

TENANT = f"tenant-{uuid.uuid4().hex[:8]}"
SECRET = f"whsec_{uuid.uuid4().hex}"
BODY = b'{"type": "invoice.paid", "id": "evt_1"}'


@pytest.fixture(scope="module")
async def credentials(infra: Any) -> AsyncIterator[CredentialsClient]:
    with private_vhost(infra, "webhook_auth", required=True) as amqp_url:
        settings = CredentialsSettings(
            database_url=infra.database_url,
            amqp_url=amqp_url,
            credentials_keys=infra.keys["PORTICO_CREDENTIALS_KEYS"],
            credentials_keys_file=None,
            grant_verify_keys=infra.keys["PORTICO_GRANT_VERIFY_KEYS"],
            graceful_timeout_s=2.0,
            db_pool_size=2,
        )
        broker = RabbitBroker(amqp_url)
        async with running(settings):
            await broker.start()
            rpc = RpcClient(lambda: open_rpc_channel(broker))
            await rpc.start()
            try:
                yield CredentialsClient(rpc, timeout_s=10)
            finally:
                await rpc.stop()
                await broker.stop()


@pytest.fixture(scope="module")
async def secret_id(credentials: CredentialsClient) -> str:
    view = await credentials.create(TENANT, "stripe", "hmac_secret", {"secret": SECRET})
    return view.id


def _sign(payload: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


async def _check(
    credentials: CredentialsClient, secret_id: str, auth: WebhookAuth, headers: dict[str, str]
) -> None:
    await check_webhook(auth, secret_id, TENANT, BODY, headers, credentials)


async def test_a_header_token(credentials: CredentialsClient, secret_id: str) -> None:
    auth = WebhookAuth(type="header", header="X-Hook-Token")
    await _check(credentials, secret_id, auth, {"x-hook-token": SECRET})
    with pytest.raises(WebhookUnauthorizedError, match="check failed"):
        await _check(credentials, secret_id, auth, {"x-hook-token": "guess"})
    with pytest.raises(WebhookUnauthorizedError, match="no X-Hook-Token header"):
        await _check(credentials, secret_id, auth, {})


async def test_a_generic_hmac_with_a_prefix(credentials: CredentialsClient, secret_id: str) -> None:
    auth = WebhookAuth(type="hmac", header="X-Hub-Signature-256", prefix="sha256=")
    good = {"x-hub-signature-256": f"sha256={_sign(BODY)}"}
    await _check(credentials, secret_id, auth, good)
    wrong = {"x-hub-signature-256": f"sha256={_sign(BODY, 'other secret')}"}
    with pytest.raises(WebhookUnauthorizedError):
        await _check(credentials, secret_id, auth, wrong)
    with pytest.raises(WebhookUnauthorizedError, match="does not start with"):
        await _check(credentials, secret_id, auth, {"x-hub-signature-256": _sign(BODY)})


async def test_stripe_signatures_and_their_tolerance(
    credentials: CredentialsClient, secret_id: str
) -> None:
    auth = WebhookAuth(type="stripe", tolerance_s=300)
    now = int(time.time())
    signed = _sign(f"{now}.".encode() + BODY)
    rolled = f"t={now},v1={_sign(b'x', 'old secret')},v1={signed}"
    await _check(credentials, secret_id, auth, {"stripe-signature": rolled})

    stale = int(time.time()) - 600
    old = f"t={stale},v1={_sign(f'{stale}.'.encode() + BODY)}"
    with pytest.raises(WebhookUnauthorizedError, match="tolerance"):
        await _check(credentials, secret_id, auth, {"stripe-signature": old})
    forged = f"t={now},v1={_sign(f'{now}.'.encode() + b'{}')}"
    with pytest.raises(WebhookUnauthorizedError, match="check failed"):
        await _check(credentials, secret_id, auth, {"stripe-signature": forged})
    with pytest.raises(WebhookUnauthorizedError, match="needs a timestamp"):
        await _check(credentials, secret_id, auth, {"stripe-signature": f"v1={signed}"})


async def test_another_tenants_secret_is_not_found(
    credentials: CredentialsClient, secret_id: str
) -> None:
    from portico_gateway.errors import NotFoundError

    auth = WebhookAuth(type="header", header="X-Hook-Token")
    with pytest.raises(NotFoundError):
        await check_webhook(
            auth, secret_id, "someone-else", BODY, {"x-hook-token": SECRET}, credentials
        )
