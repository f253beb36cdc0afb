"""The credentials client: how each `credentials.rpc` reply maps to a node failure, and what
happens when nobody answers. The full path, with the real credentials service and a real
grant, is tested end to end."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import aio_pika
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portico_contracts.grants import CredentialGrant, sign_grant
from portico_contracts.queries import RpcError, RpcReply
from portico_executors.credentials_client import (
    CredentialsClient,
    credential_from_reply,
    grant_has_expired,
    process_requester,
)
from portico_executors.errors import NodeRunError
from portico_executors.rpc_client import RpcClient

from .credential_support import CREDENTIAL_ID
from .support import make_ready

SECRET = "sk-SECRET-0123456789"


def grant(expires_in_s: float) -> str:
    claims = CredentialGrant(
        tenant_id="tenant-1",
        execution_id="ex-1",
        node_id="n",
        attempt=1,
        credential_id=CREDENTIAL_ID,
        expires_at=time.time() + expires_in_s,
    )
    return sign_grant(Ed25519PrivateKey.generate(), claims)


FRESH = grant(24 * 3600)  # the suite may reach these tests minutes after import


def refused(code: str, message: str, token: str = FRESH) -> NodeRunError:
    body = RpcReply(error=RpcError.model_validate({"code": code, "message": message}))
    with pytest.raises(NodeRunError) as caught:
        credential_from_reply(body.model_dump_json().encode(), CREDENTIAL_ID, token)
    return caught.value


def test_a_resolved_credential_is_returned_and_hides_its_data() -> None:
    result = {"id": CREDENTIAL_ID, "type": "openai", "data": {"api_key": SECRET}}
    body = RpcReply(result=result).model_dump_json().encode()
    resolved = credential_from_reply(body, CREDENTIAL_ID, FRESH)
    assert resolved.type == "openai"
    assert resolved.parsed().model_dump() == {"api_key": SECRET, "base_url": None}
    assert SECRET not in repr(resolved)
    assert SECRET not in repr(resolved.parsed())
    assert SECRET not in str(resolved.parsed())


def test_not_found_is_final() -> None:
    error = refused("not_found", f"no credential '{CREDENTIAL_ID}'")
    assert (error.type, error.retryable) == ("CredentialNotFound", False)
    assert f"credential {CREDENTIAL_ID} does not exist (deleted?)" in error.message


def test_a_refused_grant_is_final_with_the_reason() -> None:
    error = refused("forbidden", "grant signature does not verify")
    assert (error.type, error.retryable) == ("CredentialForbidden", False)
    assert "grant signature does not verify" in error.message


def test_an_expired_grant_is_retryable() -> None:
    error = refused("forbidden", "grant has expired")
    assert (error.type, error.retryable) == ("CredentialGrantExpired", True)


def test_a_grant_past_its_expiry_is_retryable_whatever_the_wording() -> None:
    error = refused("forbidden", "refused", token=grant(-5))
    assert (error.type, error.retryable) == ("CredentialGrantExpired", True)
    assert grant_has_expired(grant(-5))
    assert not grant_has_expired(FRESH)
    assert not grant_has_expired("not a grant")


def test_an_unavailable_service_is_retryable() -> None:
    error = refused("unavailable", "the credentials database is unreachable; try again")
    assert (error.type, error.retryable) == ("CredentialsUnavailable", True)


def test_an_internal_error_is_final() -> None:
    error = refused("internal", "the credential cannot be opened; see the service log")
    assert (error.type, error.retryable) == ("CredentialError", False)


@pytest.mark.parametrize(
    "result",
    [
        {"id": CREDENTIAL_ID, "type": "nonsense", "data": {"api_key": SECRET}},
        {"id": CREDENTIAL_ID, "data": {"api_key": SECRET}},
        {"id": CREDENTIAL_ID, "type": "openai", "data": SECRET},
    ],
)
def test_an_unreadable_reply_does_not_echo_it(result: dict[str, object]) -> None:
    body = RpcReply(result=result).model_dump_json().encode()
    with pytest.raises(NodeRunError) as caught:
        credential_from_reply(body, CREDENTIAL_ID, FRESH)
    assert caught.value.type == "CredentialError"
    assert SECRET not in caught.value.message
    assert caught.value.__cause__ is None


def test_a_reply_for_another_credential_is_refused() -> None:
    other = "cred_" + "cd" * 16
    result = {"id": other, "type": "openai", "data": {"api_key": SECRET}}
    body = RpcReply(result=result).model_dump_json().encode()
    with pytest.raises(NodeRunError, match=f"answered for {other}"):
        credential_from_reply(body, CREDENTIAL_ID, FRESH)


def test_the_requester_names_this_process() -> None:
    requester = process_requester()
    assert requester.startswith("executor@")
    assert requester.endswith(f":{os.getpid()}")


async def test_a_node_ready_without_a_grant_is_final() -> None:
    client = CredentialsClient("amqp://unused/")  # never connects: it fails before asking
    ready = make_ready("slack", {"text": "x"}, credential_id=CREDENTIAL_ID)
    with pytest.raises(NodeRunError) as caught:
        await client.resolve(ready)
    assert (caught.value.type, caught.value.retryable) == ("CredentialGrantMissing", False)


def client_on(amqp_url: str, queue: str, timeout_s: float) -> CredentialsClient:
    client = CredentialsClient(amqp_url, timeout_s=timeout_s, retries=2)
    client.rpc = RpcClient(amqp_url, queue)  # a queue of this test's own, like credentials.rpc
    return client


async def resolve(client: CredentialsClient) -> NodeRunError:
    ready = make_ready("slack", {"text": "x"}, credential_id=CREDENTIAL_ID, credential_grant=FRESH)
    with pytest.raises(NodeRunError) as caught:
        await client.resolve(ready)
    return caught.value


async def test_nobody_answering_is_retryable_within_the_timeout(amqp_url: str) -> None:
    queue = f"credentials.rpc.test-{uuid.uuid4().hex}"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=False, auto_delete=False)
        client = client_on(amqp_url, queue, timeout_s=1.5)
        started = time.monotonic()
        try:
            error = await resolve(client)
        finally:
            await client.close()
        elapsed = time.monotonic() - started
        assert (error.type, error.retryable) == ("CredentialsUnavailable", True)
        assert 1.0 < elapsed < 3.0, elapsed
        await asyncio.sleep(1.6)  # every question carried its own expiry: none is left behind
        left = await channel.declare_queue(queue, passive=True)
        assert left.declaration_result.message_count == 0
        await declared.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()


async def test_a_queue_nobody_declared_fails_fast_and_retryable(amqp_url: str) -> None:
    client = client_on(amqp_url, f"credentials.rpc.nobody-{uuid.uuid4().hex}", timeout_s=5.0)
    started = time.monotonic()
    try:
        error = await resolve(client)
    finally:
        await client.close()
    assert (error.type, error.retryable) == ("CredentialsUnavailable", True)
    assert "nobody serves" in error.message
    assert time.monotonic() - started < 3.0
