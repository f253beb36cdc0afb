"""The database goes away under a running gateway: 503 with Retry-After, never a 500 or a
reset connection, and the gateway recovers by itself once the database is back.

The gateway gets a database of its own (made and migrated here, dropped afterwards), so
refusing connections to it and terminating its backends disturbs no other test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from portico.migrate import upgrade_all
from tests.gateway.conftest import (
    User,
    create,
    gateway_settings,
    new_user,
    pipelined_statuses,
    serve,
    trigger_only_graph,
    ws_url,
)

RETRY_AFTER_S = 7


@dataclass
class OwnDatabase:
    url: str  # SQLAlchemy URL, as PORTICO_DATABASE_URL takes it
    name: str
    admin_dsn: str

    async def _admin(self, *statements: str) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    async def terminate_backends(self) -> None:
        await self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )

    async def go_down(self) -> None:
        """Like a server that is down: no new connections, and the open ones killed."""
        await self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        await self.terminate_backends()

    async def come_back(self) -> None:
        await self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


@pytest.fixture
async def own_database(infra: Any) -> AsyncIterator[OwnDatabase]:
    url = make_url(infra.database_url)
    name = f"{url.database}_down_{uuid.uuid4().hex[:6]}"
    admin = url.set(drivername="postgresql", database="postgres")
    database = OwnDatabase(
        url=url.set(database=name).render_as_string(hide_password=False),
        name=name,
        admin_dsn=admin.render_as_string(hide_password=False),
    )
    await database._admin(f'CREATE DATABASE "{name}"')
    try:
        # Alembic runs its own event loop: give it a thread of its own.
        await asyncio.to_thread(upgrade_all, database.url)
        yield database
    finally:
        await database.come_back()
        await database._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def gateway(infra: Any, own_database: OwnDatabase) -> AsyncIterator[str]:
    settings = gateway_settings(
        infra,
        database_url=own_database.url,
        rpc_timeout_s=0.3,
        db_connect_timeout_s=2.0,
        unavailable_retry_after_s=RETRY_AFTER_S,
    )
    async with serve(settings) as url:
        yield url


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    error = response.json()["error"]
    assert error["code"] == "database_unavailable", error
    assert "database" in error["message"]


async def _during_outage(user: User, workflow_id: str) -> None:
    client = user.client
    for method, path, body in [
        ("GET", "/api/me", None),
        ("GET", "/api/workflows", None),
        ("GET", f"/api/workflows/{workflow_id}", None),
        ("POST", f"/api/workflows/{workflow_id}/run", {}),
        ("POST", "/api/workflows", trigger_only_graph()),
    ]:
        _assert_unavailable(await client.request(method, path, json=body))
    anonymous = {"email": f"x-{uuid.uuid4().hex[:8]}@example.com", "password": "long enough"}
    _assert_unavailable(await client.post("/api/auth/signup", json=anonymous))
    _assert_unavailable(await client.post("/api/auth/login", json=anonymous))
    # Many at once on the same keep-alive pool: every one answered, none reset.
    answers = await asyncio.gather(*(client.get("/api/me") for _ in range(30)))
    for response in answers:
        _assert_unavailable(response)
    # A 503 leaves the connection open: pipelined requests all get their answer.
    statuses = await pipelined_statuses(user.base_url, "/api/me", user.cookie_header, 3)
    assert statuses == [b"HTTP/1.1 503 Service Unavailable"] * 3
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            ws_url(user.base_url), additional_headers={"Cookie": user.cookie_header}
        ):
            pass
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["Retry-After"] == str(RETRY_AFTER_S)


async def test_database_outage_is_503_with_retry_after_then_recovers(
    gateway: str, own_database: OwnDatabase
) -> None:
    user = await new_user(gateway)
    try:
        workflow_id = await create(user, trigger_only_graph())
        await own_database.go_down()
        await _during_outage(user, workflow_id)
        readyz = await user.client.get("/readyz")
        assert readyz.status_code == 503
        assert readyz.json()["checks"]["database"] == "unreachable"

        await own_database.come_back()
        # The very first request after the outage finds a working connection.
        me = await user.client.get("/api/me")
        assert me.status_code == 200, me.text
        assert (await user.client.get(f"/api/workflows/{workflow_id}")).status_code == 200
        ran = await user.client.post(f"/api/workflows/{workflow_id}/run", json={})
        assert ran.status_code == 202, ran.text
    finally:
        await user.client.aclose()


async def test_terminated_pooled_connections_are_replaced(
    gateway: str, own_database: OwnDatabase
) -> None:
    user = await new_user(gateway)
    try:
        # Fill the pool with connections, then kill every one of them server-side.
        answers = await asyncio.gather(*(user.client.get("/api/workflows") for _ in range(10)))
        assert {response.status_code for response in answers} == {200}
        await own_database.terminate_backends()
        answers = await asyncio.gather(*(user.client.get("/api/workflows") for _ in range(10)))
        assert [response.status_code for response in answers] == [200] * 10
    finally:
        await user.client.aclose()
