"""Create, update, list and delete over the real `credentials.rpc`, tenant by tenant."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from bench.infra import Infra
from portico_credentials import db, handlers
from portico_credentials.app import Runtime
from portico_credentials.service import CredentialService

from .support import Rpc, fetch, new_tenant

pytestmark = pytest.mark.usefixtures("credentials_service")


async def _row(infra: Infra, credential_id: str) -> Any:
    [row] = await fetch(infra, "SELECT * FROM credentials.credentials WHERE id = $1", credential_id)
    return row


def _token() -> str:
    return f"tok-{uuid.uuid4().hex}"


async def test_create_list_update_delete(rpc: Rpc, infra: Infra) -> None:
    tenant, token = new_tenant(), _token()
    created = await rpc.result(
        "create", tenant, name="crm", type="http_bearer", data={"token": token}
    )
    assert created["id"].startswith("cred_")
    assert created["name"] == "crm"
    assert set(created) == {"id", "name", "type", "created_at", "updated_at"}
    credential_id = created["id"]

    other_id = await rpc.create(
        tenant, "slack", "slack_webhook", {"url": "https://hooks.example/x"}
    )
    listed = await rpc.result("list", tenant)
    assert [item["name"] for item in listed["items"]] == ["crm", "slack"]
    assert token not in str(listed)
    by_type = await rpc.result("list", tenant, type="slack_webhook")
    assert [item["id"] for item in by_type["items"]] == [other_id]
    by_ids = await rpc.result("list", tenant, ids=[credential_id, "cred_nope", "junk"])
    assert [item["id"] for item in by_ids["items"]] == [credential_id]

    row_before = await _row(infra, credential_id)
    renamed = await rpc.result("update", tenant, credential_id=credential_id, name="crm-prod")
    assert renamed["name"] == "crm-prod"
    assert renamed["updated_at"] >= created["updated_at"]
    row_renamed = await _row(infra, credential_id)
    assert row_renamed["ciphertext"] == row_before["ciphertext"]  # a rename keeps the seal

    await rpc.result("update", tenant, credential_id=credential_id, data={"token": _token()})
    row_resealed = await _row(infra, credential_id)
    assert row_resealed["wrapped_key"] != row_before["wrapped_key"]  # a fresh data key
    assert row_resealed["data_nonce"] != row_before["data_nonce"]

    assert await rpc.result("delete", tenant, credential_id=credential_id) == {"deleted": True}
    gone = await rpc.call("delete", tenant, credential_id=credential_id)
    assert gone["error"]["code"] == "not_found"
    assert [item["id"] for item in (await rpc.result("list", tenant))["items"]] == [other_id]


async def test_another_tenants_credential_is_not_found(rpc: Rpc) -> None:
    owner, intruder = new_tenant(), new_tenant()
    credential_id = await rpc.create(owner, "mine", "http_bearer", {"token": _token()})
    assert (await rpc.result("list", intruder))["items"] == []
    assert (await rpc.result("list", intruder, ids=[credential_id]))["items"] == []
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("update", {"name": "stolen"}),
        ("update", {"data": {"token": "overwritten"}}),
        ("delete", {}),
    ]
    for op, fields in attempts:
        reply = await rpc.call(op, intruder, credential_id=credential_id, **fields)
        assert reply["error"]["code"] == "not_found", (op, reply)
    # Untouched for its owner.
    [item] = (await rpc.result("list", owner))["items"]
    assert item["name"] == "mine"


async def test_a_duplicate_name_is_a_conflict(rpc: Rpc) -> None:
    tenant = new_tenant()
    await rpc.create(tenant, "dup", "http_bearer", {"token": _token()})
    second_id = await rpc.create(tenant, "other", "http_bearer", {"token": _token()})
    again = await rpc.call("create", tenant, name="dup", type="http_bearer", data={"token": "x"})
    assert again["error"]["code"] == "conflict"
    assert "dup" in again["error"]["message"]
    renamed = await rpc.call("update", tenant, credential_id=second_id, name="dup")
    assert renamed["error"]["code"] == "conflict"
    # Another tenant may use the same name.
    await rpc.create(new_tenant(), "dup", "http_bearer", {"token": _token()})


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("http_basic", {"username": "u"}, "data.password: Field required"),
        ("http_bearer", {"token": "", "extra": "SECRET-VALUE-1"}, "data.extra"),
        ("hmac_secret", {"secret": "SECRET-2"}, "data.secret"),
        ("http_header", {"name": "Host", "value": "SECRET-VALUE-3"}, "data.name"),
        ("openai", {"api_key": "SECRET-VALUE-4", "base_url": "not a url"}, "data.base_url"),
    ],
)
async def test_bad_data_names_the_field_and_never_echoes_a_value(
    rpc: Rpc, kind: str, data: dict[str, Any], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = await rpc.call("create", new_tenant(), name="bad", type=kind, data=data)
    assert reply["error"]["code"] == "invalid_request"
    assert expected in reply["error"]["message"]
    for value in data.values():
        if "SECRET" in value:
            assert value not in reply["error"]["message"]
            assert value not in caplog.text


async def test_a_bad_value_for_an_update_is_refused_too(rpc: Rpc) -> None:
    tenant = new_tenant()
    credential_id = await rpc.create(
        tenant, "basic", "http_basic", {"username": "u", "password": "p"}
    )
    reply = await rpc.call("update", tenant, credential_id=credential_id, data={"username": "u"})
    assert reply["error"]["code"] == "invalid_request"
    assert "data.password" in reply["error"]["message"]
    empty = await rpc.call("update", tenant, credential_id=credential_id)
    assert empty["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"op": "explode", "tenant_id": "t"}',
        b'{"op": "create", "tenant_id": "t", "name": "n", "type": "nope", "data": {}}',
        b'{"op": "list"}',
        b'{"op": "create", "tenant_id": "t", "name": "n", "type": "http_bearer", '
        b'"data": {"token": "SECRET-IN-BAD-REQUEST"}, "unexpected": "SECRET-EXTRA"}',
    ],
)
async def test_a_malformed_request_gets_an_invalid_request_reply(
    rpc: Rpc, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = await rpc.raw(body)
    assert reply["error"]["code"] == "invalid_request", reply
    assert "SECRET" not in reply["error"]["message"]
    assert "SECRET" not in caplog.text


async def test_nul_characters_are_refused_by_field(rpc: Rpc) -> None:
    reply = await rpc.call("create", "t\x00", name="n", type="http_bearer", data={"token": "x"})
    assert reply["error"] == {
        "code": "invalid_request",
        "message": "tenant_id: must not contain a NUL character",
    }
    reply = await rpc.call(
        "create", new_tenant(), name="n\x00", type="http_bearer", data={"token": "x"}
    )
    assert reply["error"]["message"] == "name: must not contain a NUL character"


async def test_nothing_secret_is_stored_in_the_clear(
    rpc: Rpc, infra: Infra, credentials_service: Runtime
) -> None:
    tenant, token = new_tenant(), _token()
    credential_id = await rpc.create(tenant, "hidden", "http_bearer", {"token": token})
    row = await _row(infra, credential_id)
    assert row["kid"] == credentials_service.service.ring.active()[0]
    assert all(
        token.encode() not in bytes(value) for value in row.values() if isinstance(value, bytes)
    )
    assert all(token not in str(value) for value in row.values())


async def test_a_database_that_is_down_answers_unavailable(credentials_service: Runtime) -> None:
    # Port 1 refuses connections: the database is "down" for this service only.
    pool = await db.create_pool("postgresql+asyncpg://postgres@127.0.0.1:1/none", 1, 1.0, "test")
    try:
        service = CredentialService(
            credentials_service.service.ring, credentials_service.service.verify_keys, pool
        )
        for body in (
            b'{"op": "list", "tenant_id": "t"}',
            b'{"op": "create", "tenant_id": "t", "name": "n", "type": "http_bearer", '
            b'"data": {"token": "x"}}',
        ):
            reply = await handlers.reply(service, body)
            assert reply.error is not None
            assert reply.error.code == "unavailable"
    finally:
        await pool.close()
