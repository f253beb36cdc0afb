"""The WebSocket follower hands each execution's trace to its waiter, whenever it finishes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bench.follow import Follower


def _event(execution_id: str, seq: int, type: str, node_id: str | None = None) -> str:
    event: dict[str, Any] = {"execution_id": execution_id, "seq": seq, "type": type}
    if node_id is not None:
        event["node_id"] = node_id
    return json.dumps({"type": "event", "event": event})


async def _frames(frames: list[str], hold: asyncio.Event) -> AsyncIterator[str]:
    for frame in frames:
        yield frame
    await hold.wait()  # the socket stays open until the test is done


async def test_a_trace_that_finished_before_anyone_waited_is_kept_for_its_waiter() -> None:
    follower, hold = Follower(), asyncio.Event()
    frames = [
        _event("a", 1, "execution.started"),
        _event("a", 2, "node.succeeded", "start"),
        _event("b", 1, "execution.started"),
        _event("a", 3, "execution.succeeded"),
    ]
    reader = asyncio.create_task(follower.read(_frames(frames, hold)))
    await asyncio.sleep(0)
    trace = await follower.finished("a", timeout_s=1)
    assert trace.succeeded
    assert trace.gapless()
    assert [event.seq for event in trace.events] == [1, 2, 3]
    with pytest.raises(TimeoutError):
        await follower.finished("b", timeout_s=0.05)
    hold.set()
    await reader


async def test_events_out_of_order_are_not_gapless() -> None:
    follower, hold = Follower(), asyncio.Event()
    frames = [_event("a", 2, "node.running"), _event("a", 1, "execution.failed")]
    hold.set()
    await follower.read(_frames(frames, hold))
    trace = await follower.finished("a", timeout_s=1)
    assert not trace.gapless()
    assert not trace.succeeded


async def test_an_error_frame_fails_every_waiter() -> None:
    follower, hold = Follower(), asyncio.Event()
    waiting = asyncio.create_task(follower.finished("a", timeout_s=1))
    await asyncio.sleep(0)
    frames = [json.dumps({"type": "error", "code": "resync_failed", "message": "lost"})]
    with pytest.raises(RuntimeError):
        await follower.read(_frames(frames, hold))
    with pytest.raises(RuntimeError, match="resync_failed"):
        await waiting


def test_hops_are_the_gaps_between_consecutive_nodes() -> None:
    follower = Follower()
    for seq, (node, at) in enumerate([("start", 1.0), ("n0", 1.004), ("n1", 1.010)], start=1):
        follower._accept(
            {"execution_id": "a", "seq": seq, "type": "node.succeeded", "node_id": node}, at
        )
    follower._accept({"execution_id": "a", "seq": 4, "type": "execution.succeeded"}, 1.011)
    trace = asyncio.run(follower.finished("a"))
    assert trace.hops_ms(["start", "n0", "n1"]) == pytest.approx([4.0, 6.0])
