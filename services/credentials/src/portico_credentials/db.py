"""Database access: an asyncpg pool, transactions, named-parameter SQL, and what is transient.

The pool starts empty (`min_size=0`) so the service comes up, and answers `unavailable`, while
the database is down, and takes connections again by itself once it is back.
"""

from __future__ import annotations

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
Connection: TypeAlias = "asyncpg.Connection[Record] | PoolConnectionProxy[Record]"

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialects are untyped
# Deadlocks, serialization failures, a full or restarting server: the request itself is fine.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "53300", "57P01", "57P02", "57P03"})
UNIQUE_VIOLATION = "23505"


class Query:
    """SQL written with `:name` parameters, compiled once into asyncpg's `$n` form."""

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

    async def execute(self, conn: Connection, **params: Any) -> str:
        status: str = await conn.execute(self.sql, *self.args(params))
        return status


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+asyncpg://…`) as a plain libpq DSN."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def create_pool(
    database_url: str, size: int, connect_timeout_s: float, application_name: str
) -> Pool:
    return await asyncpg.create_pool(
        asyncpg_dsn(database_url),
        min_size=0,
        max_size=size,
        timeout=connect_timeout_s,
        server_settings={"application_name": application_name},
    )


@asynccontextmanager
async def transaction(pool: Pool, acquire_timeout_s: float) -> AsyncIterator[Connection]:
    """One transaction on a pooled connection, committed when the block ends without error."""
    async with pool.acquire(timeout=acquire_timeout_s) as conn, conn.transaction():
        yield conn


def sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "sqlstate", "") or "")


def is_transient(exc: BaseException) -> bool:
    """A failure of the database or the way to it, not of the request: ask again later."""
    if isinstance(exc, asyncpg.PostgresError):
        state = sqlstate(exc)
        return state in _TRANSIENT_SQLSTATES or state.startswith("08")
    return isinstance(exc, asyncpg.InterfaceError | OSError | TimeoutError)
