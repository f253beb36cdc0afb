"""Database access: an asyncpg pool and transactions (statements: `portico_contracts.sql`).

The pool starts empty (`min_size=0`) so the service comes up, and answers `unavailable`, while
the database is down, and takes connections again by itself once it is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from portico_contracts.sql import Connection, Pool, asyncpg_dsn

__all__ = ["Connection", "Pool", "create_pool", "transaction"]


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
