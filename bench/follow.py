"""Follow every execution of a workflow over one WebSocket, as the editor does — never by polling.

Each event is stamped with the client's clock when its frame is read; an execution's trace is
handed to whoever waits for it once its terminal event arrives (which may be before the run
request even returned its id).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.client import Portico, receive

TERMINAL_EVENTS = frozenset({"execution.succeeded", "execution.failed", "execution.cancelled"})


@dataclass(frozen=True)
class Event:
    seq: int
    type: str
    node_id: str | None
    received: float  # time.perf_counter() when its frame was read


@dataclass
class Trace:
    execution_id: str
    events: list[Event] = field(default_factory=list)

    @property
    def terminal(self) -> Event:
        return self.events[-1]

    @property
    def succeeded(self) -> bool:
        return self.terminal.type == "execution.succeeded"

    def gapless(self) -> bool:
        """Every event once, in seq order from 1, the terminal one last."""
        return [event.seq for event in self.events] == list(range(1, len(self.events) + 1))

    def finished_at(self, node_id: str) -> float:
        """When `node_id`'s node.succeeded arrived."""
        for event in self.events:
            if event.node_id == node_id and event.type == "node.succeeded":
                return event.received
        raise KeyError(f"no node.succeeded for {node_id} in {self.execution_id}")

    def hops_ms(self, node_ids: list[str]) -> list[float]:
        """Gaps between the node.succeeded events of consecutive `node_ids`."""
        times = [self.finished_at(node_id) for node_id in node_ids]
        return [(later - earlier) * 1000 for earlier, later in itertools.pairwise(times)]


class Follower:
    def __init__(self) -> None:
        self._open: dict[str, Trace] = {}
        self._done: dict[str, Trace] = {}
        self._waiting: dict[str, asyncio.Future[Trace]] = {}
        self._failure: BaseException | None = None

    async def finished(self, execution_id: str, timeout_s: float = 120) -> Trace:
        """The whole trace of `execution_id`, once its terminal event has arrived."""
        if (trace := self._done.pop(execution_id, None)) is not None:
            return trace
        if self._failure is not None:
            raise self._failure
        future = asyncio.get_running_loop().create_future()
        self._waiting[execution_id] = future
        try:
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiting.pop(execution_id, None)

    def _accept(self, payload: dict[str, Any], received: float) -> None:
        execution_id = payload["execution_id"]
        trace = self._open.setdefault(execution_id, Trace(execution_id))
        trace.events.append(
            Event(payload["seq"], payload["type"], payload.get("node_id"), received)
        )
        if payload["type"] not in TERMINAL_EVENTS:
            return
        del self._open[execution_id]
        waiter = self._waiting.get(execution_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(trace)
        else:
            self._done[execution_id] = trace

    def _fail(self, error: BaseException) -> None:
        self._failure = error
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(error)

    async def read(self, frames: AsyncIterable[str | bytes]) -> None:
        try:
            async for raw in frames:
                received = time.perf_counter()
                frame = json.loads(raw)
                if frame["type"] == "event":
                    self._accept(frame["event"], received)
                elif frame["type"] == "error":
                    raise RuntimeError(f"WebSocket subscription ended: {frame}")
        except Exception as exc:  # a closed socket or an error frame: every waiter learns it
            self._fail(exc)
            raise
        self._fail(ConnectionError("WebSocket closed"))


@asynccontextmanager
async def following(client: Portico, workflow_id: str) -> AsyncIterator[Follower]:
    """A Follower of every execution of `workflow_id`, subscribed before any run starts."""
    follower = Follower()
    async with await client.ws() as ws:
        await ws.send(json.dumps({"type": "subscribe", "workflow_id": workflow_id}))
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot", snapshot
        reader = asyncio.create_task(follower.read(ws))
        try:
            yield follower
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
