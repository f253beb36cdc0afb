"""The hot path's database access: an asyncpg pool, transactions, and named-parameter SQL.

Messages, timers and the outbox talk to asyncpg directly: SQLAlchemy's async layer (greenlet
hop, compiled-cache lookup, result wrapping) cost about 0.4 ms of CPU per transaction when
measured, half of the client side of a node result. SQLAlchemy still compiles each statement
once (`Query`), defines the schema (models.py, migrations) and serves the read-only RPC
queries (views.py); asyncpg's stubs type the rest.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

Record: TypeAlias = asyncpg.Record
# asyncpg's classes take their type parameter only in its stubs, so these stay strings.
Pool: TypeAlias = "asyncpg.Pool[Record]"
# A connection of our own, or one lent by the pool.
Connection: TypeAlias = "asyncpg.Connection[Record] | PoolConnectionProxy[Record]"

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Query:
    """SQL written with `:name` parameters, compiled once by SQLAlchemy into asyncpg's
    positional `$n` form; run with the parameters by name."""

    def __init__(self, sql: str) -> None:
        compiled = text(sql).compile(dialect=_DIALECT)
        self.sql = compiled.string
        self.names: list[str] = list(compiled.positiontup or [])

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]

    async def fetch(self, conn: Connection, **params: Any) -> list[Record]:
        rows: list[Record] = await conn.fetch(self.sql, *self.args(params))
        return rows

    async def fetchrow(self, conn: Connection, **params: Any) -> Record | None:
        return await conn.fetchrow(self.sql, *self.args(params))

    async def fetchval(self, conn: Connection, **params: Any) -> Any:
        return await conn.fetchval(self.sql, *self.args(params))

    async def execute(self, conn: Connection, **params: Any) -> None:
        await conn.execute(self.sql, *self.args(params))


async def _init_connection(conn: Connection) -> None:
    # JSON goes in already encoded (we encode once) and comes out as Python values.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=str, decoder=json.loads, format="text"
        )


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+asyncpg://…`) as a plain libpq DSN."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


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
