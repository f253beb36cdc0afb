"""Worker processes that run untrusted computations (templates, JSONata) within hard bounds.

A template or expression is code a workflow author wrote, and one line of it can pin a CPU or
claim gigabytes (`{{ (9**9999)**9999 }}`, nested loops, `'x' * …` grown by `replace`). Run in
the executor's event loop it would stall every other node of every tenant. So each job runs
in one of a few pre-started worker processes (sandbox_worker.py):
- time: the parent stops waiting after the job's limit, kills the worker (SIGKILL: nothing in
  the worker can delay it) and has a fresh one forked; the caller gets `SandboxLimitError`;
- memory: each worker's address space is capped (RLIMIT_AS), so an allocation past it raises
  MemoryError inside the worker, which reports it and exits;
- output: a result that pickles to more than `max_result_bytes` is refused in the worker,
  before it crosses the socket;
- orphans: each job also arms RLIMIT_CPU a little past its time limit, so a worker whose
  parent died mid-job (kill -9) ends by itself; an idle one sees EOF and exits.

Why our own pool rather than pebble or ProcessPoolExecutor: both hand results back through
threads, and a thread needs the GIL from a busy event loop. Measured on a 2-core machine with
the loop busy: pebble 35 ms per round trip, this pool 7 ms (mostly waiting for the loop's
turn); idle, 0.27 ms and 0.11 ms. Here the parent side is plain asyncio over socketpairs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from portico_executors.sandbox_worker import (
    HEADER,
    READY,
    UNSENDABLE,
    ZYGOTE_COMMAND,
    SandboxLimits,
    picklable_error,
    unsendable_error,
)

__all__ = ["SandboxLimitError", "SandboxLimits", "SandboxPool"]

logger = logging.getLogger("portico.executors.sandbox")

T = TypeVar("T")
LimitKind = Literal["time", "memory", "output", "crash"]

# A worker that is not up this long after asking for it is broken; we try again. Generous:
# the first one waits for the zygote to import the node runners.
SPAWN_TIMEOUT_S = 30.0


class SandboxLimitError(Exception):
    """A job broke a bound (or its worker died); the worker has been replaced."""

    def __init__(self, kind: LimitKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


async def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while len(data) < size:
        chunk = await loop.sock_recv(sock, size - len(data))
        if not chunk:
            raise ConnectionError("the sandbox zygote is gone")
        data += chunk
    return data


class _Zygote:
    """The process that forks workers; see sandbox_worker.py."""

    def __init__(self, process: asyncio.subprocess.Process, control: socket.socket) -> None:
        self.process = process
        self.control = control
        self.lock = asyncio.Lock()  # one fork request in flight on the control socket

    @classmethod
    async def start(cls, limits: SandboxLimits) -> _Zygote:
        ours, theirs = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                ZYGOTE_COMMAND,
                str(theirs.fileno()),
                str(limits.memory_bytes),
                str(limits.max_result_bytes),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        return cls(process, ours)

    async def fork(self) -> tuple[int, socket.socket]:
        """A new worker's pid and our end of its socket."""
        ours, theirs = socket.socketpair()
        try:
            async with self.lock:
                socket.send_fds(self.control, [b"w"], [theirs.fileno()])
                (pid,) = HEADER.unpack(await _recv_exactly(self.control, HEADER.size))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return pid, ours

    async def stop(self) -> None:
        self.control.close()  # the zygote's cue to exit
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


@dataclass(slots=True, eq=False)  # hashed by identity: kept in a set
class _Worker:
    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def call(self, request: bytes, max_reply: int) -> tuple[Any, ...]:
        self.writer.write(HEADER.pack(len(request)))
        self.writer.write(request)
        await self.writer.drain()
        (size,) = HEADER.unpack(await self.reader.readexactly(HEADER.size))
        if size > max_reply + 1024:  # the worker bounds its replies; this one is broken
            raise ConnectionError(f"sandbox worker sent a {size}-byte reply")
        reply: tuple[Any, ...] = pickle.loads(await self.reader.readexactly(size))
        return reply

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class SandboxPool:
    """`size` workers; `run` waits for a free one, so jobs beyond that queue in order."""

    def __init__(self, size: int, limits: SandboxLimits) -> None:
        self.size = size
        self.limits = limits
        self._zygote: _Zygote | None = None
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def stop(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in list(self._workers):
            self._retire(worker, kill=True)
        if self._zygote is not None:
            await self._zygote.stop()

    async def run(self, function: Callable[..., T], *args: Any, time_limit_s: float) -> T:
        """`function(*args)` in a worker (both picklable by reference or value)."""
        request = pickle.dumps((function, args, time_limit_s), protocol=pickle.HIGHEST_PROTOCOL)
        worker = await self._take()
        try:
            async with asyncio.timeout(time_limit_s):
                reply = await worker.call(request, self.limits.max_result_bytes)
        except TimeoutError:
            self._replace(worker, kill=True)
            raise SandboxLimitError("time", f"ran longer than {time_limit_s:g} s") from None
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            self._replace(worker, kill=True)
            raise SandboxLimitError(
                "crash",
                "stopped its worker process, most likely by going past the "
                f"{self._memory_text()} memory limit",
            ) from exc
        except BaseException:  # cancelled mid-job: the worker is busy with a job nobody awaits
            self._replace(worker, kill=True)
            raise
        result: T = self._outcome(worker, reply)  # what `function` returned, unpickled
        return result

    def run_here(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in this process, answered as a worker would answer it.

        Only for jobs whose work is bounded by their input, such as rendering templates that
        are all plain lookups: no time or memory limit is needed, and the round trip to a
        worker (pickling the context both ways) would cost more than the job. The output
        bound still applies, measured the way a worker measures it, and errors come out as a
        worker passes them on.
        """
        try:
            value = function(*args)
        except Exception as exc:
            error = picklable_error(exc)
            if error is exc:
                raise
            raise error from exc
        try:
            size = len(pickle.dumps(("ok", value), protocol=pickle.HIGHEST_PROTOCOL))
        except UNSENDABLE as exc:
            raise unsendable_error(exc) from exc
        if size > self.limits.max_result_bytes:
            raise self._too_big(size)
        return value

    def _outcome(self, worker: _Worker, reply: tuple[Any, ...]) -> Any:
        kind = reply[0]
        if kind == "memory":
            self._replace(worker, kill=False)  # it exits by itself
            raise SandboxLimitError("memory", f"needed more than {self._memory_text()} of memory")
        self._idle.put_nowait(worker)
        if kind == "output":
            raise self._too_big(reply[1])
        if kind == "raise":
            raise reply[1]
        return reply[1]

    def _too_big(self, size: int) -> SandboxLimitError:
        return SandboxLimitError(
            "output", f"produced {size} bytes, more than {self.limits.max_result_bytes}"
        )

    def _memory_text(self) -> str:
        return f"{self.limits.memory_bytes // (1024 * 1024)} MiB"

    async def _take(self) -> _Worker:
        while True:
            worker = await self._idle.get()
            if not worker.reader.at_eof():
                return worker
            # Died while idle (killed from outside): not this job's fault, take another.
            self._replace(worker, kill=False)

    def _replace(self, worker: _Worker, *, kill: bool) -> None:
        self._retire(worker, kill=kill)
        if not self._closed:
            self._background(self._respawn())

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        if kill:
            worker.kill()
        worker.writer.close()
        self._workers.discard(worker)

    def _background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respawn(self) -> None:
        delay = 0.1
        while not self._closed:
            try:
                self._idle.put_nowait(await self._spawn())
                return
            except Exception:
                logger.exception("could not start a sandbox worker; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _fork(self) -> tuple[int, socket.socket]:
        if self._zygote is None or self._zygote.process.returncode is not None:
            self._zygote = await _Zygote.start(self.limits)
        zygote = self._zygote
        try:
            return await zygote.fork()
        except (ConnectionError, OSError):
            if self._zygote is zygote:  # start a fresh zygote on the next try
                self._zygote = None
                await zygote.stop()
            raise

    async def _spawn(self) -> _Worker:
        async with asyncio.timeout(SPAWN_TIMEOUT_S):
            pid, sock = await self._fork()
            reader, writer = await asyncio.open_unix_connection(sock=sock)
            worker = _Worker(pid, reader, writer)
            self._workers.add(worker)
            try:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                if await reader.readexactly(size) != READY:
                    raise ConnectionError("sandbox worker sent no ready signal")
            except BaseException:
                self._retire(worker, kill=True)
                raise
        return worker
