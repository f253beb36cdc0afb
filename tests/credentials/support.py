"""Helpers the credentials tests share: settings, an RPC client, grants, and the database."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aio_pika
import asyncpg

from bench.infra import Infra
from portico_contracts.grants import CredentialGrant, load_signing_key, sign_grant
from portico_contracts.topology import CREDENTIALS_RPC_QUEUE_NAME
from portico_credentials.config import Settings


def service_settings(infra: Infra, amqp_url: str, **overrides: Any) -> Settings:
    """The run's own key ring and grant keys (every suite of the run seals under the same
    ring, so rows others left in the database still open)."""
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "amqp_url": amqp_url,
        "credentials_keys": infra.keys["PORTICO_CREDENTIALS_KEYS"],
        "credentials_keys_file": None,
        "grant_verify_keys": infra.keys["PORTICO_GRANT_VERIFY_KEYS"],
        "graceful_timeout_s": 2.0,
        "db_pool_size": 4,
    }
    values.update(overrides)
    return Settings(**values)


class Rpc:
    """Asks `credentials.rpc` like the gateway and executors do: reply_to, correlation id."""

    def __init__(self, amqp_url: str) -> None:
        self.amqp_url = amqp_url
        self._waiting: dict[str, asyncio.Future[bytes]] = {}

    async def open(self) -> None:
        self.connection = await aio_pika.connect(self.amqp_url)
        self.channel = await self.connection.channel()
        self.replies = await self.channel.declare_queue(exclusive=True, auto_delete=True)
        await self.replies.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        await self.connection.close()

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        waiting = self._waiting.pop(message.correlation_id or "", None)
        if waiting is not None and not waiting.done():
            waiting.set_result(message.body)

    async def raw(self, body: bytes, timeout_s: float = 15.0) -> dict[str, Any]:
        correlation_id = uuid.uuid4().hex
        answer = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = answer
        await self.channel.default_exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                correlation_id=correlation_id,
                reply_to=self.replies.name,
            ),
            routing_key=CREDENTIALS_RPC_QUEUE_NAME,
        )
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(answer, timeout_s))
        return reply

    async def call(self, op: str, tenant_id: str, **fields: Any) -> dict[str, Any]:
        return await self.raw(json.dumps({"op": op, "tenant_id": tenant_id, **fields}).encode())

    async def result(self, op: str, tenant_id: str, **fields: Any) -> Any:
        """The result of a request that must succeed."""
        reply = await self.call(op, tenant_id, **fields)
        assert reply.get("error") is None, reply
        return reply["result"]

    async def create(self, tenant_id: str, name: str, kind: str, data: dict[str, Any]) -> str:
        view = await self.result("create", tenant_id, name=name, type=kind, data=data)
        credential_id: str = view["id"]
        return credential_id


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:12]}"


def grant_for(
    signing_key: str,
    tenant_id: str,
    credential_id: str,
    execution_id: str = "exec-1",
    node_id: str = "call",
    expires_in_s: float = 300.0,
    attempt: int = 1,
) -> str:
    grant = CredentialGrant(
        tenant_id=tenant_id,
        execution_id=execution_id,
        node_id=node_id,
        attempt=attempt,
        credential_id=credential_id,
        expires_at=time.time() + expires_in_s,
    )
    return sign_grant(load_signing_key(signing_key), grant)


def resolve_fields(
    credential_id: str, grant: str, execution_id: str = "exec-1", node_id: str = "call"
) -> dict[str, Any]:
    return {
        "credential_id": credential_id,
        "execution_id": execution_id,
        "node_id": node_id,
        "grant": grant,
        "requester": "test-executor",
    }


async def fetch(infra: Infra, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(infra.asyncpg_dsn)
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()
