"""What a run and an authenticated request cost the database, and how a dead pooled connection
is handled without a ping per checkout.

Counted on the wire: asyncpg's query logger sees BEGIN, COMMIT, ROLLBACK and a liveness ping
(`;`), SQLAlchemy's `before_cursor_execute` every statement. Before this work a run cost 8
round trips (BEGIN; `;`; ROLLBACK of pool_pre_ping, BEGIN, 3 ORM selects, COMMIT) and a
`GET /api/me` 6; now a run with its graph cached costs 1 statement, and `/api/me` 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from portico_contracts.graph import WorkflowGraph
from portico_gateway.app import create_app
from portico_gateway.db_failures import on_live_connection, watch_engine
from portico_gateway.dependencies import GatewayState
from portico_gateway.graph_cache import GraphCache
from tests.gateway.conftest import User, create, gateway_settings, graph, new_user, serve


class WireLog:
    """Every round trip of the gateway's pooled connections, in order."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self._watched: set[int] = set()

    def watch(self, app: FastAPI) -> None:
        state: GatewayState = app.state.gateway

        @event.listens_for(state.engine.sync_engine, "checkout")
        def _on_checkout(_: Any, record: ConnectionPoolEntry, __: Any) -> None:
            driver = record.driver_connection
            if isinstance(driver, asyncpg.Connection) and id(driver) not in self._watched:
                self._watched.add(id(driver))
                driver.add_query_logger(lambda logged: self.queries.append(logged.query))

        @event.listens_for(state.engine.sync_engine, "before_cursor_execute")
        def _on_statement(*args: Any) -> None:
            self.queries.append(" ".join(str(args[2]).split()))

    def take(self) -> list[str]:
        taken, self.queries = self.queries, []
        return taken


@pytest.fixture
async def counted(infra: Any) -> AsyncIterator[tuple[str, WireLog, FastAPI]]:
    # No orchestrator here: the start command is queued and the answer is 202 regardless.
    settings = gateway_settings(infra, rpc_timeout_s=0.2)
    app = create_app(settings)
    log = WireLog()
    async with serve(settings, app) as url:
        log.watch(app)
        yield url, log, app


def _selects(queries: list[str], table: str) -> list[str]:
    return [q for q in queries if q.startswith("SELECT") and f"gateway.{table}" in q]


async def test_a_run_costs_one_statement_once_its_graph_is_cached(
    counted: tuple[str, WireLog, FastAPI],
) -> None:
    url, log, app = counted
    user: User = await new_user(url)
    try:
        workflow_id = await create(user, graph())
        run_path = f"/api/workflows/{workflow_id}/run"
        await user.client.get("/api/me")  # warm up: every later checkout finds its logger
        log.take()

        first = await user.client.post(run_path, json={})
        assert first.status_code == 202, first.text
        miss = log.take()
        # The caller and the workflow in one statement, then the graph (not cached yet).
        assert len(miss) == 2, miss
        assert _selects(miss, "sessions")
        assert _selects(miss, "workflows")
        assert "workflow_versions" in miss[1]

        second = await user.client.post(run_path, json={})
        assert second.status_code == 202, second.text
        hit = log.take()
        assert len(hit) == 1, hit  # no BEGIN/COMMIT, no ping, no graph read
        assert "JOIN gateway.workflows" in hit[0]

        await user.client.get("/api/me")
        assert len(log.take()) == 1
        state: GatewayState = app.state.gateway
        assert len(state.graphs) == 1
    finally:
        await user.client.aclose()


async def test_a_run_with_an_idempotency_key_adds_only_the_claim(
    counted: tuple[str, WireLog, FastAPI],
) -> None:
    url, log, _ = counted
    user = await new_user(url)
    try:
        workflow_id = await create(user, graph())
        run_path = f"/api/workflows/{workflow_id}/run"
        await user.client.post(run_path, json={})  # caches the graph
        log.take()
        headers = {"Idempotency-Key": "hot-path-key"}
        first = await user.client.post(run_path, json={}, headers=headers)
        assert len(log.take()) == 2  # caller + workflow, the claim (an atomic insert)
        again = await user.client.post(run_path, json={}, headers=headers)
        assert again.json() == first.json()
        assert len(log.take()) == 3  # caller + workflow, the claim, the key's first answer
    finally:
        await user.client.aclose()


async def test_api_key_callers_cost_one_statement(
    counted: tuple[str, WireLog, FastAPI],
) -> None:
    url, log, _ = counted
    user = await new_user(url)
    try:
        created = await user.client.post("/api/api-keys", json={"name": "hot path"})
        assert created.status_code == 201, created.text
        bearer = {"Authorization": f"Bearer {created.json()['secret']}"}
        await user.client.get("/api/me", headers=bearer)  # first use: last_used_at written
        log.take()
        me = await user.client.get("/api/me", headers=bearer)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user.id
        assert len(log.take()) == 1  # touched at most once a minute, so not now
    finally:
        await user.client.aclose()


# --- the graph cache ----------------------------------------------------------------------------


def test_graph_cache_is_a_bounded_lru() -> None:
    cache = GraphCache(2)
    graphs = [
        WorkflowGraph.model_validate({"name": f"g{n}", "nodes": [], "edges": []}) for n in range(3)
    ]
    cache.put(("t", "w", 1), graphs[0])
    cache.put(("t", "w", 2), graphs[1])
    assert cache.get(("t", "w", 1)) is graphs[0]  # now the most recently used
    cache.put(("t", "w", 3), graphs[2])
    assert len(cache) == 2
    assert cache.get(("t", "w", 2)) is None  # the least recently used went
    assert cache.get(("t", "w", 1)) is graphs[0]
    assert cache.get(("other tenant", "w", 1)) is None  # the tenant is part of the key


# --- dead connections, without pool_pre_ping -----------------------------------------------------


@pytest.fixture
async def engine(infra: Any) -> AsyncIterator[Any]:
    engine = create_async_engine(infra.database_url, pool_size=2)
    watch_engine(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _pid(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_that_dies_under_its_first_statement_is_retried_once(
    engine: Any,
) -> None:
    attempts: list[int] = []

    async def work(connection: AsyncConnection) -> int:
        pid = await _pid(connection)
        attempts.append(pid)
        if len(attempts) == 1:  # the server ends this backend while the statement runs
            await connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return pid

    pid = await on_live_connection(engine, work)
    assert len(attempts) == 2
    assert pid == attempts[1] != attempts[0]


async def test_other_failures_are_not_retried(engine: Any) -> None:
    attempts = 0

    async def work(connection: AsyncConnection) -> None:
        nonlocal attempts
        attempts += 1
        await connection.execute(text("SELEKT 1"))

    with pytest.raises(ProgrammingError):
        await on_live_connection(engine, work)
    assert attempts == 1


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(
    engine: Any, infra: Any
) -> None:
    async with engine.connect() as connection:
        dead = await _pid(connection)
    admin = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", dead)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the client sees the socket close
    async with engine.connect() as connection:  # no error, no retry: a new connection
        assert await _pid(connection) != dead
