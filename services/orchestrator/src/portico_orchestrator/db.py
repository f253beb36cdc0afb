"""The hot path's database access: an asyncpg pool and transactions.

Messages, timers and the outbox talk to asyncpg directly, through `portico_contracts.sql`
(statements compiled once by SQLAlchemy); its async layer would cost about half of the client
side of a node result. SQLAlchemy's engine serves only the read-only RPC queries (views.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from portico_contracts.sql import Connection, Pool, Query, Record, asyncpg_dsn

__all__ = ["Connection", "Pool", "Query", "Record", "connection", "create_pool", "transaction"]


async def _init_connection(conn: Connection) -> None:
    # JSON goes in already encoded (we encode once) and comes out as Python values.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=str, decoder=json.loads, format="text"
        )


async def _keep_session(conn: Connection) -> None:
    """Release without asyncpg's default reset query (a round trip per transaction).

    We never change session state (no SET, LISTEN, session advisory locks or cursors; the
    outbox owner's lock lives on a connection of its own), and asyncpg
    still rolls back a transaction left open before this is called.
    """


async def create_pool(database_url: str, size: int, overflow: int) -> Pool:
    return await asyncpg.create_pool(
        asyncpg_dsn(database_url),
        min_size=size,
        max_size=size + overflow,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"application_name": "portico-orchestrator"},
    )


def _started(pool: Pool | None) -> Pool:
    if pool is None:
        raise RuntimeError("the database pool is not open yet")
    return pool


@asynccontextmanager
async def connection(pool: Pool | None) -> AsyncIterator[Connection]:
    """A pooled connection, outside any transaction (single reads)."""
    async with _started(pool).acquire() as conn:
        yield conn


@asynccontextmanager
async def transaction(pool: Pool | None) -> AsyncIterator[Connection]:
    """One transaction on a pooled connection, committed when the block ends without error."""
    async with _started(pool).acquire() as conn, conn.transaction():
        yield conn
