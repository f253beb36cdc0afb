"""Signed webhooks are checked by the credentials service itself: the gateway sends the signed
payload and the signatures it was given, and learns only whether one matches."""

from __future__ import annotations

import base64
import hmac
import uuid

import pytest

from .support import Rpc, new_tenant

pytestmark = pytest.mark.usefixtures("credentials_service")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


async def _secret(rpc: Rpc, tenant: str, algorithm: str = "sha256") -> tuple[str, str]:
    secret = f"whsec_{uuid.uuid4().hex}"
    credential_id = await rpc.create(
        tenant,
        f"hook {uuid.uuid4().hex[:6]}",
        "hmac_secret",
        {"secret": secret, "algorithm": algorithm},
    )
    return credential_id, secret


async def _check(rpc: Rpc, tenant: str, credential_id: str, **fields: object) -> dict[str, object]:
    return await rpc.call("check_secret", tenant, credential_id=credential_id, **fields)


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
async def test_an_hmac_made_with_the_secret_matches_and_nothing_else(
    rpc: Rpc, algorithm: str
) -> None:
    tenant = new_tenant()
    credential_id, secret = await _secret(rpc, tenant, algorithm)
    body = b'{"id": "evt_1", "amount": 100}\xff'
    good = hmac.new(secret.encode(), body, algorithm).hexdigest()
    bad = hmac.new(b"not the secret", body, algorithm).hexdigest()

    def check(*candidates: str, payload: bytes = body) -> dict[str, object]:
        return {"mode": "hmac", "payload": _b64(payload), "candidates": list(candidates)}

    assert (await _check(rpc, tenant, credential_id, **check(good)))["result"] == {"valid": True}
    upper = await _check(rpc, tenant, credential_id, **check(bad, good.upper()))
    assert upper["result"] == {"valid": True}  # any of several signatures (Stripe sends two)
    assert (await _check(rpc, tenant, credential_id, **check(bad)))["result"] == {"valid": False}
    tampered = await _check(rpc, tenant, credential_id, **check(good, payload=body + b" "))
    assert tampered["result"] == {"valid": False}


async def test_a_token_must_equal_the_secret(rpc: Rpc) -> None:
    tenant = new_tenant()
    credential_id, secret = await _secret(rpc, tenant)

    same = await _check(rpc, tenant, credential_id, mode="token", candidates=[secret])
    other = await _check(rpc, tenant, credential_id, mode="token", candidates=[secret + "x"])

    assert same["result"] == {"valid": True}
    assert other["result"] == {"valid": False}
    assert secret not in str(same) + str(other)


async def test_another_tenant_or_type_cannot_be_checked(rpc: Rpc) -> None:
    owner, intruder = new_tenant(), new_tenant()
    credential_id, secret = await _secret(rpc, owner)
    bearer = await rpc.create(owner, "bearer", "http_bearer", {"token": "t0k3n-value"})

    foreign = await _check(rpc, intruder, credential_id, mode="token", candidates=[secret])
    wrong_type = await _check(rpc, owner, bearer, mode="token", candidates=["t0k3n-value"])

    assert foreign["error"]["code"] == "not_found"
    assert wrong_type["error"]["code"] == "invalid_request"
    assert "hmac_secret" in wrong_type["error"]["message"]
