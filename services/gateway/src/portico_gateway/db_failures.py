"""Telling "the database is unreachable" apart from a bug, and keeping the pool healthy.

During a PostgreSQL restart a request meets many kinds of failure: the connection refused
(`ConnectionRefusedError`, not wrapped by SQLAlchemy), "the database system is shutting down /
starting up" (SQLSTATE 57P03), a pooled connection terminated under it (57P01, or asyncpg's
"connection is closed" / a protocol left mid-operation), a database not accepting connections,
or a pool with no free connection in time. Each is the client's 503 with Retry-After, not a 500.

The pool recovers by itself, without a ping per checkout (`pool_pre_ping` cost three round
trips, BEGIN; `;`; ROLLBACK, on every request): a connection whose socket the server already
closed (a restart, a terminated backend) is replaced at checkout for free (`is_closed()`), and
the `handle_error` listener marks every connection-level failure as a disconnect, so SQLAlchemy
discards that connection (and the pool's older ones) instead of handing it out again. What
slips through (a connection that dies between checkout and its first statement) fails that
statement: `on_live_connection` runs a request's first work again, once, on a fresh
connection; anything later is the client's 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

T = TypeVar("T")

# SQLSTATE classes that mean "no usable connection": 08 connection exception, 53 insufficient
# resources (too many connections), 57 operator intervention (shutdown, starting up,
# terminated by an administrator), 3D000 the database does not exist (dropped or not yet made).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57", "3D000")
_MAX_CHAIN = 20


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (`orig`) and what caused it, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < _MAX_CHAIN:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending.extend([orig if isinstance(orig, BaseException) else None, current.__cause__])
        pending.append(current.__context__)


def _raised_by_driver(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        if str(traceback.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg."):
            return True
        traceback = traceback.tb_next
    return False


def _is_connection_level(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):
        return True  # the pool had no free connection in time
    if isinstance(exc, OSError):
        # Refused, reset, timed out, name not resolved: SQLAlchemy passes asyncpg's socket
        # errors on unwrapped, so they are told from other OSErrors by where they came from.
        return _raised_by_driver(exc.__traceback__)
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.exceptions.InternalClientError):
        # "connection is closed", or a protocol the server hung up on mid-operation.
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return (
        isinstance(exc, asyncpg.PostgresError)
        and isinstance(sqlstate, str)
        and (sqlstate.startswith(_UNAVAILABLE_SQLSTATES))
    )


def database_unreachable(exc: BaseException) -> bool:
    """Did this fail because no working database connection could be had?"""
    return any(_is_connection_level(link) for link in _chain(exc))


def watch_engine(engine: AsyncEngine) -> None:
    """Treat connection-level failures, and any failure to connect, as disconnects; never hand
    out a pooled connection the server has already closed."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        _: DBAPIConnection, record: ConnectionPoolEntry, __: PoolProxiedConnection
    ) -> None:
        driver = record.driver_connection
        if isinstance(driver, asyncpg.Connection) and driver.is_closed():
            # The pool invalidates this record and checks out again with a new connection.
            raise sa_exc.DisconnectionError("the server closed this pooled connection")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        connecting = context.connection is None and not context.is_pre_ping
        if connecting or database_unreachable(context.original_exception):
            context.is_disconnect = True


async def on_live_connection(
    engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    """`work` on a pooled connection; if that connection turns out dead (invalidated by the
    failure), once more on a fresh one. For a request's first statements only, which are
    reads or idempotent, so running them twice is harmless. A failure to connect at all is
    not retried: the database is down, and that is a 503 at once."""
    async with engine.connect() as connection:
        try:
            return await work(connection)
        except Exception:
            if not connection.invalidated:
                raise
    async with engine.connect() as connection:
        return await work(connection)
