"""The sandbox pool: each bound (time, memory, output) ends its job with the reason, the
worker that broke it is replaced, and the event loop never waits on a job."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portico_executors.errors import NodeRunError
from portico_executors.sandbox import SandboxLimitError, SandboxLimits, SandboxPool

from . import sandbox_jobs as jobs

MEMORY_MB = 256


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    limits = SandboxLimits(memory_bytes=MEMORY_MB * 1024 * 1024, max_result_bytes=1024 * 1024)
    started = SandboxPool(2, limits)
    await started.start()
    yield started
    await started.stop()


async def worker_pids(pool: SandboxPool) -> set[int]:
    pids = await asyncio.gather(*(pool.run(jobs.pid, time_limit_s=5) for _ in range(8)))
    return set(pids)


async def test_results_and_worker_processes(pool: SandboxPool) -> None:
    assert await pool.run(jobs.echo, {"a": [1, "b"]}, time_limit_s=5) == {"a": [1, "b"]}
    pids = await worker_pids(pool)
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2


async def test_time_limit_kills_and_replaces_the_worker(pool: SandboxPool) -> None:
    before = await worker_pids(pool)
    started = time.monotonic()
    with pytest.raises(SandboxLimitError) as caught:
        await pool.run(jobs.spin, 30, time_limit_s=0.3)
    assert time.monotonic() - started < 1.0
    assert (caught.value.kind, caught.value.detail) == ("time", "ran longer than 0.3 s")
    assert await pool.run(jobs.spin, 0, time_limit_s=5) == "done"
    after = await worker_pids(pool)
    assert len(before - after) == 1  # the one that spun is gone, the other kept serving


async def test_event_loop_keeps_running_during_a_job(pool: SandboxPool) -> None:
    job = asyncio.create_task(pool.run(jobs.spin, 0.5, time_limit_s=5))
    worst = 0.0
    while not job.done():
        tick = time.monotonic()
        await asyncio.sleep(0.01)
        worst = max(worst, time.monotonic() - tick)
    assert await job == "done"
    assert worst < 0.2


async def test_memory_cap_ends_the_job(pool: SandboxPool) -> None:
    with pytest.raises(SandboxLimitError) as caught:
        await pool.run(jobs.allocate, 2 * MEMORY_MB, time_limit_s=5)
    assert caught.value.kind == "memory"
    assert f"more than {MEMORY_MB} MiB" in caught.value.detail
    assert await pool.run(jobs.allocate, 16, time_limit_s=5) == 16 * 1024 * 1024


async def test_oversized_result_is_refused_in_the_worker(pool: SandboxPool) -> None:
    with pytest.raises(SandboxLimitError) as caught:
        await pool.run(jobs.echo, "x" * 2_000_000, time_limit_s=5)
    assert caught.value.kind == "output"
    assert "more than 1048576" in caught.value.detail
    assert await pool.run(jobs.echo, "small", time_limit_s=5) == "small"


async def test_exceptions_cross_intact(pool: SandboxPool) -> None:
    with pytest.raises(NodeRunError) as caught:
        await pool.run(jobs.fail_like_a_node, time_limit_s=5)
    error = caught.value
    assert (error.message, error.type, error.retryable, error.details) == (
        "nope",
        "Custom",
        True,
        {"k": [1]},
    )
    with pytest.raises(RuntimeError, match="_UnpicklableError: 1"):
        await pool.run(jobs.fail_oddly, time_limit_s=5)


async def test_jobs_the_worker_cannot_take_or_send_back_fail_alone(pool: SandboxPool) -> None:
    before = await worker_pids(pool)
    with pytest.raises(RuntimeError, match="result cannot be sent"):
        await pool.run(jobs.unsendable, time_limit_s=5)
    with pytest.raises(ModuleNotFoundError, match="portico_parent_only"):
        await pool.run(_parent_only_function(), time_limit_s=5)
    assert await worker_pids(pool) == before  # no worker was lost over them


async def test_a_worker_that_dies_mid_job_is_replaced(pool: SandboxPool) -> None:
    with pytest.raises(SandboxLimitError) as caught:
        await pool.run(jobs.die, time_limit_s=5)
    assert caught.value.kind == "crash"
    assert "stopped its worker process" in caught.value.detail
    assert await pool.run(jobs.echo, 1, time_limit_s=5) == 1


async def test_a_worker_killed_while_idle_costs_no_job(pool: SandboxPool) -> None:
    for worker_pid in await worker_pids(pool):
        os.kill(worker_pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    assert await pool.run(jobs.echo, "still here", time_limit_s=5) == "still here"


async def test_cancelling_a_job_frees_its_worker(pool: SandboxPool) -> None:
    job = asyncio.create_task(pool.run(jobs.spin, 30, time_limit_s=60))
    await asyncio.sleep(0.2)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    results = await asyncio.gather(*(pool.run(jobs.spin, 0.05, time_limit_s=5) for _ in range(4)))
    assert results == ["done"] * 4


async def test_jobs_beyond_the_pool_size_wait_their_turn(pool: SandboxPool) -> None:
    started = time.monotonic()
    results = await asyncio.gather(*(pool.run(jobs.spin, 0.2, time_limit_s=5) for _ in range(4)))
    assert results == ["done"] * 4
    assert 0.35 < time.monotonic() - started < 3


def _parent_only_function() -> Any:
    """A function of a module that exists only in this process (a script's __main__, say)."""

    def job() -> int:
        return 1

    module = types.ModuleType("portico_parent_only")
    job.__module__, job.__qualname__ = module.__name__, "job"
    module.job = job  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return job
