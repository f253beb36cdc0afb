"""ProgressPublisher: batching of streamed text into NodeProgress messages, best effort."""

from __future__ import annotations

import asyncio

import pytest

from portico_contracts.messages import NodeProgress
from portico_contracts.topology import progress_key
from portico_executors import progress as progress_module
from portico_executors.progress import NodeProgressSink, ProgressPublisher

from .support import make_ready


class RecordingChannel:
    def __init__(self) -> None:
        self.sent: list[tuple[NodeProgress, str]] = []

    async def publish(self, body: bytes, routing_key: str) -> None:
        self.sent.append((NodeProgress.model_validate_json(body), routing_key))

    @property
    def texts(self) -> list[str]:
        return [message.text for message, _ in self.sent]


class BrokenChannel:
    def __init__(self, hang: bool = False) -> None:
        self.hang = hang
        self.tries = 0

    async def publish(self, body: bytes, routing_key: str) -> None:
        self.tries += 1
        if self.hang:
            await asyncio.sleep(3600)
        raise ConnectionError("broker gone")


async def test_a_fast_stream_makes_few_messages_that_rebuild_the_text() -> None:
    channel = RecordingChannel()
    ready = make_ready("ai", {}, attempt=2)
    sink = ProgressPublisher(channel).for_node(ready)
    pieces = [f"token{i} " for i in range(600)]  # ~5 KiB, emitted at once
    for piece in pieces:
        await sink.emit(piece)
    await sink.flush()

    assert "".join(channel.texts) == "".join(pieces)
    assert 4 <= len(channel.sent) <= 7  # ~1 KiB each, not one per token
    messages = [message for message, _ in channel.sent]
    assert [m.index for m in messages] == list(range(len(messages)))
    assert {m.attempt for m in messages} == {2}
    assert {m.node_id for m in messages} == {ready.node_id}
    expected_key = progress_key(ready.tenant_id, ready.workflow_id, ready.execution_id)
    assert {key for _, key in channel.sent} == {expected_key}


async def test_a_slow_stream_is_sent_about_every_100_ms() -> None:
    channel = RecordingChannel()
    sink = ProgressPublisher(channel).for_node(make_ready("ai", {}))
    await sink.emit("Hel")
    await sink.emit("lo")
    assert channel.sent == []  # batched, not sent at once
    await asyncio.sleep(0.3)
    assert channel.texts == ["Hello"]  # the timer sent it without waiting for more
    await sink.emit(" world")
    await sink.flush()
    assert channel.texts == ["Hello", " world"]
    await sink.flush()  # nothing left: nothing sent
    assert len(channel.sent) == 2


async def test_failed_publishes_are_dropped_and_never_raise() -> None:
    channel = BrokenChannel()
    sink = ProgressPublisher(channel).for_node(make_ready("ai", {}))
    await sink.emit("x" * 5000)
    await sink.emit("y")
    await sink.flush()
    assert channel.tries == 2


async def test_a_hanging_broker_holds_the_stream_only_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "PUBLISH_TIMEOUT_S", 0.2)
    channel = BrokenChannel(hang=True)
    sink = NodeProgressSink(channel, make_ready("ai", {}))
    started = asyncio.get_running_loop().time()
    await sink.emit("x" * 2000)
    await sink.flush()
    assert asyncio.get_running_loop().time() - started < 1.0
    assert sink.index == 1  # the dropped chunk's index is spent: viewers see the gap


async def test_unbound_publisher_drops_quietly() -> None:
    sink = ProgressPublisher().for_node(make_ready("ai", {}))
    await sink.emit("text")
    await sink.flush()
