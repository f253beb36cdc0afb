"""A loop of the orchestrator's own (timers, watchdog) that runs as one task between start
and stop, on the hot path's connection pool."""

from __future__ import annotations

import asyncio
import contextlib

from portico_orchestrator import db


class BackgroundLoop:
    name = "background"

    def __init__(self) -> None:
        self._pool: db.Pool | None = None  # set when started
        self._task: asyncio.Task[None] | None = None

    def start(self, pool: db.Pool | None) -> None:
        self._pool = pool
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError
