"""Resolve: plaintext only for a genuine, current grant for exactly this tenant, execution,
node and credential; every attempt audited; the secret in no log line."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from bench.infra import Infra
from portico_contracts.credentials import ResolveCredential
from portico_contracts.grants import generate_signing_key
from portico_credentials.app import Runtime
from portico_credentials.keyring import KeyRing, new_key_entry
from portico_credentials.service import CredentialService, RequestError

from .support import Rpc, fetch, grant_for, new_tenant, resolve_fields

pytestmark = pytest.mark.usefixtures("credentials_service")


@pytest.fixture
def signing_key(infra: Infra) -> str:
    return infra.keys["PORTICO_GRANT_SIGNING_KEY"]


async def _audit(infra: Infra, credential_id: str) -> list[dict[str, Any]]:
    rows = await fetch(
        infra,
        "SELECT * FROM credentials.access_audit WHERE credential_id = $1 ORDER BY id",
        credential_id,
    )
    return [dict(row) for row in rows]


async def test_a_valid_grant_resolves_and_is_audited(
    rpc: Rpc, infra: Infra, signing_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant, secret = new_tenant(), f"secret-{uuid.uuid4().hex}"
    credential_id = await rpc.create(tenant, "api", "http_bearer", {"token": secret})
    grant = grant_for(signing_key, tenant, credential_id, attempt=3)

    resolved = await rpc.result("resolve", tenant, **resolve_fields(credential_id, grant))

    assert resolved == {"id": credential_id, "type": "http_bearer", "data": {"token": secret}}
    [row] = await _audit(infra, credential_id)
    assert row["outcome"] == "granted"
    assert (row["tenant_id"], row["execution_id"], row["node_id"]) == (tenant, "exec-1", "call")
    assert (row["attempt"], row["requester"]) == (3, "test-executor")
    assert secret not in caplog.text


async def test_every_bad_grant_is_refused_and_audited(
    rpc: Rpc, infra: Infra, signing_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner, intruder, secret = new_tenant(), new_tenant(), f"secret-{uuid.uuid4().hex}"
    credential_id = await rpc.create(owner, "api", "http_bearer", {"token": secret})
    other_id = await rpc.create(owner, "other", "http_bearer", {"token": "other-secret"})
    forged_key = generate_signing_key()[0]
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (
            owner,
            resolve_fields(credential_id, grant_for(forged_key, owner, credential_id)),
            "forbidden",
            "grant signature does not verify",
        ),
        (
            owner,
            resolve_fields(
                credential_id, grant_for(signing_key, owner, credential_id, expires_in_s=-5)
            ),
            "forbidden",
            "grant has expired",
        ),
        (
            owner,
            resolve_fields(
                credential_id, grant_for(signing_key, owner, credential_id), execution_id="exec-2"
            ),
            "forbidden",
            "grant is for another execution",
        ),
        (
            owner,
            resolve_fields(
                credential_id, grant_for(signing_key, owner, credential_id), node_id="other"
            ),
            "forbidden",
            "grant is for another node",
        ),
        (
            owner,
            resolve_fields(credential_id, grant_for(signing_key, owner, other_id)),
            "forbidden",
            "grant is for another credential",
        ),
        (
            intruder,  # the owner's genuine grant, replayed by another tenant
            resolve_fields(credential_id, grant_for(signing_key, owner, credential_id)),
            "forbidden",
            "grant is for another tenant",
        ),
        (
            intruder,  # a genuine grant of the intruder's own, for a credential not theirs
            resolve_fields(credential_id, grant_for(signing_key, intruder, credential_id)),
            "not_found",
            "no credential",
        ),
        (owner, resolve_fields(credential_id, "garbage"), "forbidden", "not a grant token"),
    ]
    for tenant, fields, code, message in cases:
        reply = await rpc.call("resolve", tenant, **fields)
        assert reply.get("result") is None, "a refused resolve answered plaintext"
        assert reply["error"]["code"] == code, (message, reply)
        assert message in reply["error"]["message"]

    audit = await _audit(infra, credential_id)
    assert len(audit) == len(cases)
    assert {row["outcome"] for row in audit} == {"denied"}
    assert [row["reason"] for row in audit][:6] == [case[3] for case in cases[:6]]
    assert audit[6]["reason"] == "no such credential for this tenant"
    assert audit[0]["attempt"] is None  # a forged grant vouches for nothing
    assert audit[2]["attempt"] == 1
    assert [row["tenant_id"] for row in audit][5:7] == [intruder, intruder]
    assert secret not in caplog.text


async def test_a_missing_or_malformed_credential_id_is_not_found_and_audited(
    rpc: Rpc, infra: Infra, signing_key: str
) -> None:
    tenant = new_tenant()
    for credential_id in (f"cred_{uuid.uuid4().hex}", "not-an-id"):
        grant = grant_for(signing_key, tenant, credential_id)
        reply = await rpc.call("resolve", tenant, **resolve_fields(credential_id, grant))
        assert reply["error"]["code"] == "not_found"
        [row] = await _audit(infra, credential_id)
        assert row["outcome"] == "denied"


async def test_a_grant_outlives_a_rename_but_not_a_delete(rpc: Rpc, signing_key: str) -> None:
    tenant = new_tenant()
    credential_id = await rpc.create(tenant, "temp", "hmac_secret", {"secret": "s" * 32})
    fields = resolve_fields(credential_id, grant_for(signing_key, tenant, credential_id))
    await rpc.result("update", tenant, credential_id=credential_id, name="renamed")
    resolved = await rpc.result("resolve", tenant, **fields)
    assert resolved["data"] == {"secret": "s" * 32, "algorithm": "sha256"}
    await rpc.result("delete", tenant, credential_id=credential_id)
    assert (await rpc.call("resolve", tenant, **fields))["error"]["code"] == "not_found"


@pytest.mark.parametrize("same_kid", [True, False])
async def test_a_ring_without_the_rows_key_refuses_and_audits(
    rpc: Rpc, infra: Infra, signing_key: str, credentials_service: Runtime, same_kid: bool
) -> None:
    """A service given the wrong key (same kid, other bytes) or a ring lacking the row's kid
    answers `internal`, never plaintext or garbage, and audits the refusal."""
    tenant = new_tenant()
    credential_id = await rpc.create(tenant, "api", "http_bearer", {"token": "t"})
    kid = credentials_service.service.ring.active()[0]
    wrong = CredentialService(
        KeyRing.from_text(new_key_entry(kid if same_kid else "some-other-key")),
        credentials_service.service.verify_keys,
        credentials_service.service.pool,
    )
    request = ResolveCredential(
        tenant_id=tenant,
        **resolve_fields(credential_id, grant_for(signing_key, tenant, credential_id)),
    )
    with pytest.raises(RequestError) as refused:
        await wrong.resolve(request)
    assert refused.value.code == "internal"
    [row] = await _audit(infra, credential_id)
    assert row["outcome"] == "denied"
    assert kid in row["reason"]
