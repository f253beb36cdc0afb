"""Which replica owns the outbox rows it wrote: a key held as a PostgreSQL advisory lock.

Each orchestrator replica draws a fresh key from `orchestrator.outbox_owner_seq` and holds
`pg_advisory_lock(OWNER_LOCK_NAMESPACE, key)` on a connection of its own for as long as it
runs. PostgreSQL releases the lock the moment that session ends (a kill -9, a lost host), so
"is the owner alive?" is answered by the database itself — no heartbeats, no clocks.
If the connection drops while the replica lives (a database restart), `keep` reconnects and
takes the lock again; meanwhile other relays may publish its rows too, which consumers
tolerate (delivery is at least once; executors re-check side effects of relayed messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from portico_contracts.sql import asyncpg_dsn

logger = logging.getLogger("portico.orchestrator.owner")

# The first half of the two-integer advisory lock key: "outbox owners" among Portico's locks.
OWNER_LOCK_NAMESPACE = 0x504F  # "PO"
_CHECK_INTERVAL_S = 2.0


class OwnerLock:
    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._conn: asyncpg.Connection | None = None
        self.key = 0  # drawn on acquire; 0 is never drawn

    async def acquire(self) -> None:
        conn = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "portico-orchestrator-owner"}
        )
        try:
            if not self.key:
                self.key = int(
                    await conn.fetchval("SELECT nextval('orchestrator.outbox_owner_seq')")
                )
            # Blocks only while a relay briefly holds it to publish a dead owner's rows.
            await conn.execute("SELECT pg_advisory_lock($1, $2)", OWNER_LOCK_NAMESPACE, self.key)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def keep(self) -> None:
        """Hold the lock for the life of the process, taking it again after a lost session."""
        while True:
            await asyncio.sleep(_CHECK_INTERVAL_S)
            try:
                if self._conn is None or self._conn.is_closed():
                    raise ConnectionError("owner lock session is gone")
                await self._conn.fetchval("SELECT 1")
            except Exception as exc:
                logger.warning("outbox owner lock lost (%r); taking it again", exc)
                await self._close()
                with contextlib.suppress(Exception):
                    await self.acquire()

    async def release(self) -> None:
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)
