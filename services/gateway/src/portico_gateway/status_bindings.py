"""Which status events this replica receives: only those something here watches.

The status queue (exclusive, auto-deleted, one per replica) starts with no binding. A
WebSocket subscription or a waiting webhook request binds the routing keys of what it
watches before it looks (snapshot, start), and the binding goes when its last watcher
leaves. Keys come from `portico_contracts.topology` with a `*` for the part not known:

  one execution   status.<tenant>.*.<execution>      (and progress.<tenant>.*.<execution>)
  one workflow    status.<tenant>.<workflow>.*       (and progress.<tenant>.<workflow>.*)

Ids never hold `*` or `#` (ID_PATTERN), so a key can never widen to other executions, and
the tenant in every key keeps other tenants' events off this queue altogether (the hub
still checks the tenant of each event).

Bindings are made through the robust queue object, which re-declares the queue and restores
its bindings after a broker reconnect; `resettle` then fixes whatever changed while the
broker was away (a bind or unbind that failed) before the hub asks for missed events.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable

from aio_pika.abc import AbstractRobustQueue

from portico_contracts.topology import STATUS_EXCHANGE, progress_key, status_key

logger = logging.getLogger("portico.gateway.bindings")

BIND_TIMEOUT_S = 5.0
ANY = "*"


def execution_keys(tenant_id: str, execution_id: str, *, progress: bool) -> list[str]:
    keys = [status_key(tenant_id, ANY, execution_id)]
    return [*keys, progress_key(tenant_id, ANY, execution_id)] if progress else keys


def workflow_keys(tenant_id: str, workflow_id: str) -> list[str]:
    return [status_key(tenant_id, workflow_id, ANY), progress_key(tenant_id, workflow_id, ANY)]


class StatusBindings:
    """Reference-counted bindings of the status queue. Without a queue (tests of the hub
    alone) it only counts."""

    def __init__(self) -> None:
        self._queue: AbstractRobustQueue | None = None
        self._wanted: Counter[str] = Counter()
        self._bound: set[str] = set()
        # One at a time: a bind and an unbind of the same key must reach RabbitMQ in the
        # order the counts changed, and each is one short round trip.
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, queue: AbstractRobustQueue) -> None:
        self._queue = queue

    @property
    def bound(self) -> frozenset[str]:
        return frozenset(self._bound)

    @property
    def wanted(self) -> frozenset[str]:
        return frozenset(self._wanted)

    def acquire(self, keys: Iterable[str]) -> asyncio.Future[None]:
        """Count the keys as wanted now; bound when the result is done (unless the broker is
        away: then once it reconnects). Counted at once, so a `release` may follow even if
        the caller is cancelled while it waits."""
        keys = list(keys)
        self._wanted.update(keys)
        # Shielded: a caller cancelled while it waits does not cut a round trip in half.
        return asyncio.shield(self._in_background(keys))

    def release(self, keys: Iterable[str]) -> None:
        """Unbound in the background once nobody wants a key any more."""
        gone = []
        for key in keys:
            self._wanted[key] -= 1
            if self._wanted[key] <= 0:
                del self._wanted[key]
                gone.append(key)
        if gone:
            self._in_background(gone)

    def _in_background(self, keys: list[str]) -> asyncio.Future[None]:
        if self._queue is None:
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        task = asyncio.create_task(self._settle(keys))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def resettle(self) -> None:
        """After a reconnect: bind what is wanted but not bound, unbind the reverse."""
        await self._settle(set(self._wanted).symmetric_difference(self._bound))

    async def _settle(self, keys: list[str] | set[str]) -> None:
        queue = self._queue
        if queue is None:
            return
        async with self._lock:
            for key in keys:
                # Counts may change while a round trip is out: settle on what holds now.
                while (key in self._wanted) != (key in self._bound):
                    if not await self._apply(queue, key, bind=key in self._wanted):
                        break

    async def _apply(self, queue: AbstractRobustQueue, key: str, *, bind: bool) -> bool:
        try:
            if bind:
                await queue.bind(STATUS_EXCHANGE.name, key, timeout=BIND_TIMEOUT_S)
                self._bound.add(key)
            else:
                await queue.unbind(STATUS_EXCHANGE.name, key, timeout=BIND_TIMEOUT_S)
                self._bound.discard(key)
        except Exception as exc:  # the broker is away: `resettle` runs once it is back
            logger.warning("could not %s %s: %r", "bind" if bind else "unbind", key, exc)
            return False
        return True
