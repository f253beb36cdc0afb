"""The hot path's database access: an asyncpg pool, transactions, and named-parameter SQL.

Messages, timers and the outbox talk to asyncpg directly. Measured here, SQLAlchemy's async
layer (greenlet hop, compiled-cache lookup, result wrapping) cost about 0.4 ms of CPU per
transaction, half of the client side of a node result; SQLAlchemy still defines the schema
(models.py, migrations) and serves the read-only RPC queries (views.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

# asyncpg ships no type information; these aliases say what is meant.
Connection = Any
Pool = Any
Record = Any

_NAME = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Query:
    """SQL written with `:name` parameters, run with asyncpg's positional `$n` ones."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        self.sql = _NAME.sub(number, sql)

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

    We never change session state (no SET, LISTEN, advisory locks or cursors), and asyncpg
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


@asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """One transaction on a pooled connection, committed when the block ends without error."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
