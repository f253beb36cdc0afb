"""Start, stop, restart: deliveries survive an executor restart, `--types` picks the queues,
SIGTERM drains, and a result that cannot be published is never acked."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portico_contracts.topology import executor_queue
from portico_executors import handlers
from portico_executors.__main__ import load_settings
from portico_executors.app import running
from portico_executors.attempts import AttemptChecker
from portico_executors.config import EXECUTOR_TYPES, Settings
from portico_executors.handlers import make_node_ready_handler

from .support import NodeClient, executor_settings, make_ready


async def test_wait_resumes_after_restart_with_remaining_time(
    amqp_url: str, node_client: NodeClient
) -> None:
    async with running(executor_settings(amqp_url, types=("wait",))):
        # Dispatched once the executor is up: its start-up (sandbox workers) is not waiting.
        ready = make_ready("wait", {"seconds": 1.5}, dispatched_at=datetime.now(UTC))
        future = await node_client.publish(ready)
        await asyncio.sleep(0.4)
    # The first executor stopped mid-wait: the delivery went back unanswered.
    assert not future.done()
    async with running(executor_settings(amqp_url, types=("wait",))):
        result = await asyncio.wait_for(future, 10)
    assert result.status == "succeeded"
    # The deadline held: the second executor waited only for what was left of the 1.5 s
    # (nothing, if its own start-up took longer), not for a fresh 1.5 s.
    deadline = ready.dispatched_at + timedelta(seconds=1.5)
    assert result.output == {"waited_until": deadline.isoformat()}
    assert (
        deadline <= result.finished_at < max(deadline, result.started_at) + timedelta(seconds=0.3)
    )
    assert result.finished_at - result.started_at < timedelta(seconds=1.2)


async def test_types_subset_consumes_only_those_queues(
    amqp_url: str, node_client: NodeClient
) -> None:
    wait_queue = executor_queue("wait")
    declared = await node_client.channel.declare_queue(
        wait_queue.name, durable=True, arguments=wait_queue.arguments
    )
    await declared.bind(node_client.nodes, wait_queue.routing())
    env = {
        **os.environ,
        "PORTICO_AMQP_URL": amqp_url,
        "PORTICO_DECLARE_RESULTS_QUEUE": "false",
        "PORTICO_EXECUTOR_TYPES": "http,wait,merge",  # --types wins over the environment
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portico_executors", "--types", "transform,condition", env=env
    )
    try:
        await node_client.wait_for_consumers("executor.transform", 1)
        await node_client.wait_for_consumers("executor.condition", 1)
        result = await node_client.run(make_ready("transform", {"mapping": {"a": 1}}))
        assert result.output == {"a": 1}
        await node_client.publish(make_ready("wait", {"seconds": 0}))
        await asyncio.sleep(0.3)
        assert await node_client.queue_counts(wait_queue.name) == (1, 0)
        for other in ("http", "merge"):
            counts = await node_client.queue_counts(f"executor.{other}")
            assert counts is None or counts[1] == 0
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
        assert await node_client.queue_counts("executor.transform") == (0, 0)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await declared.purge()


def _sandbox_processes(marker: str) -> list[int]:
    """Pids of the sandbox zygote and workers whose command line carries `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                words = cmdline.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"".join(words).find(b"sandbox_worker import zygote") >= 0 and marker.encode() in words:
            found.append(int(entry))
    return found


async def test_an_executor_killed_mid_bomb_leaves_nothing_running(
    amqp_url: str, node_client: NodeClient
) -> None:
    memory_mb = 333  # an unusual cap marks this executor's sandbox processes
    env = {
        **os.environ,
        "PORTICO_AMQP_URL": amqp_url,
        "PORTICO_DECLARE_RESULTS_QUEUE": "false",
        "PORTICO_SANDBOX_MEMORY_MB": str(memory_mb),
        "PORTICO_TEMPLATE_TIMEOUT_S": "1",
    }
    marker = str(memory_mb * 1024 * 1024)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portico_executors", "--types", "transform", env=env
    )
    bomb = "{{ ([[1] * 100] * 100000) | sum(start=[]) | length }}"
    ready = make_ready("transform", {"mapping": {"v": bomb}})
    try:
        await node_client.wait_for_consumers("executor.transform", 1)
        future = await node_client.publish(ready)
        await asyncio.sleep(0.3)
        assert len(_sandbox_processes(marker)) == 3  # the zygote and two workers, one busy
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # The zygote and the idle worker see their sockets close; the busy one runs into its
    # CPU limit (its time limit plus two seconds).
    deadline = time.monotonic() + 10
    while _sandbox_processes(marker):
        assert time.monotonic() < deadline, f"still running: {_sandbox_processes(marker)}"
        await asyncio.sleep(0.2)
    # The delivery comes back, and its next attempt is bounded like the first.
    async with running(executor_settings(amqp_url, types=("transform",), template_timeout_s=1)):
        result = await asyncio.wait_for(future, 10)
    assert result.error is not None
    assert result.error.type == "TemplateLimit"


def test_load_settings_prefers_cli_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTICO_EXECUTOR_TYPES", "wait")
    assert load_settings("http, transform").types == ("http", "transform")
    assert load_settings(None).types == ("wait",)


def test_load_settings_names_the_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTICO_EXECUTOR_PREFETCH", "0")
    with pytest.raises(SystemExit):
        load_settings("http,teleport")
    err = capsys.readouterr().err
    assert "--types" in err
    assert "unknown executor type(s) teleport" in err
    assert "PORTICO_EXECUTOR_PREFETCH" in err


def test_settings_defaults_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTICO_HTTP_ALLOW_HOSTS", "127.0.0.1, internal.example ,10.0.0.0/8")
    settings = Settings()
    assert settings.types == EXECUTOR_TYPES
    assert {"http", "ai", "slack", "discord", "wait"} <= set(settings.types)
    assert settings.prefetch == 64
    assert settings.http_allow_hosts == ("127.0.0.1", "internal.example", "10.0.0.0/8")


class _FakeMessage:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers: dict[str, Any] = {}
        self.redelivered = False
        self.acked = self.nacked = False

    async def ack(self) -> None:
        self.acked = True

    async def nack(self, requeue: bool = True) -> None:
        self.nacked = requeue


async def _no_orchestrator(body: bytes, timeout_s: float) -> bytes:
    raise AssertionError("these messages are not redelivered: nobody should be asked")


_NEVER_ASKED = AttemptChecker(_no_orchestrator, window_s=0, timeout_s=1)


class _FailingPublisher:
    async def publish(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker went away")


async def test_unpublishable_result_is_requeued_not_acked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portico_executors.service import ExecutorService

    monkeypatch.setattr(handlers, "PUBLISH_RETRY_DELAY_S", 0)
    handler = make_node_ready_handler(
        ExecutorService(Settings(), None, None),  # type: ignore[arg-type]
        _FailingPublisher(),  # type: ignore[arg-type]
        _NEVER_ASKED,
    )
    message = _FakeMessage(make_ready("merge", {}).model_dump_json().encode())
    await handler(message)  # type: ignore[arg-type]
    assert (message.acked, message.nacked) == (False, True)


async def test_interrupted_wait_is_neither_acked_nor_nacked() -> None:
    from portico_executors.service import ExecutorService

    service = ExecutorService(Settings(), None, None)  # type: ignore[arg-type]
    service.shutdown.set()
    handler = make_node_ready_handler(
        service,
        _FailingPublisher(),  # type: ignore[arg-type]
        _NEVER_ASKED,
    )
    ready = make_ready("wait", {"seconds": 5}, dispatched_at=datetime.now(UTC))
    message = _FakeMessage(ready.model_dump_json().encode())
    await handler(message)  # type: ignore[arg-type]
    assert (message.acked, message.nacked) == (False, False)


@pytest.fixture(scope="module", autouse=True)
async def _no_leftovers(node_client: NodeClient) -> Any:
    yield
    # Leave no NodeReady behind for the other services' tests sharing this vhost.
    for node_type in ("wait", "transform", "condition"):
        if await node_client.queue_counts(executor_queue(node_type).name) is not None:
            queue = await node_client.channel.get_queue(executor_queue(node_type).name)
            await queue.purge()
