"""The processes behind sandbox.py: a zygote that forks workers, and the workers' job loop.

The zygote is started once per pool (`python -c "...zygote()"`), imports the modules jobs
need, freezes that heap and then forks one worker per request, so a killed worker is
replaced in milliseconds and every worker shares the preloaded pages. It takes requests on a
control socket: one byte carrying the worker's end of a socketpair (SCM_RIGHTS); it answers
with the new worker's pid. The kernel reaps workers (SIGCHLD ignored); the zygote ends when
the control socket closes, which is also what happens if the executor is killed.

Why not multiprocessing's forkserver: its `__main__` preload never takes effect (it asks for
a "main_path" key the preparation data does not have), so every worker imports the program's
main script again: 0.6 s and the whole broker stack per worker for `portico executors`.

A worker reads length-prefixed pickles `(function, args, time_limit_s)` and answers with
one of ("ok", value), ("raise", exception), ("output", size) or ("memory",).
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import pickle
import resource
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any

HEADER = struct.Struct("!Q")
READY = b"ready"
# Modules the zygote imports once, so that every worker forked from it starts warm.
PRELOAD = ("portico_executors.nodes", "portico_executors.rendering")
ZYGOTE_COMMAND = "from portico_executors.sandbox_worker import zygote; zygote()"
# Extra CPU seconds past a job's time limit before the kernel ends an orphaned worker.
CPU_GRACE_S = 2


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    memory_bytes: int
    max_result_bytes: int


def read_frame(stream: Any) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None  # the parent closed the socket (or died): nothing more to do
    (size,) = HEADER.unpack(header)
    payload: bytes = stream.read(size)
    return payload if len(payload) == size else None


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(HEADER.pack(len(payload)))
    sock.sendall(payload)


def _arm_cpu_limit(time_limit_s: float) -> None:
    """SIGXCPU a little after the job's limit: a worker whose parent died mid-job ends too."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + time_limit_s) + CPU_GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


# What pickle raises for a value it cannot send.
UNSENDABLE = (pickle.PicklingError, TypeError, AttributeError)


def unsendable_error(exc: BaseException) -> RuntimeError:
    return RuntimeError(f"the job's result cannot be sent: {exc}")


def picklable_error(exc: BaseException) -> BaseException:
    """`exc` if it survives the trip back to the parent, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _run(request: bytes) -> tuple[Any, ...]:
    try:
        # Unpickling imports the function's module: it must be importable here, not __main__.
        function, args, time_limit_s = pickle.loads(request)
        _arm_cpu_limit(time_limit_s)
        return ("ok", function(*args))
    except MemoryError:
        raise
    except Exception as exc:
        return ("raise", picklable_error(exc))


def _reply(request: bytes, limits: SandboxLimits) -> bytes:
    """Run one job; its pickled reply, never more than `max_result_bytes`."""
    try:
        payload = pickle.dumps(_run(request), protocol=pickle.HIGHEST_PROTOCOL)
    except UNSENDABLE as exc:
        payload = pickle.dumps(("raise", unsendable_error(exc)))
    if len(payload) > limits.max_result_bytes:
        return pickle.dumps(("output", len(payload)))
    return payload


def serve(sock: socket.socket, limits: SandboxLimits) -> None:
    """A worker's loop: one job at a time until the parent closes its socket."""
    # Hard limit too: nothing running here may raise it again.
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    stream = sock.makefile("rb")
    send_frame(sock, READY)
    while (request := read_frame(stream)) is not None:
        try:
            payload = _reply(request, limits)
        except MemoryError:
            # Report and leave: after a failed allocation the heap may be in pieces.
            send_frame(sock, pickle.dumps(("memory",)))
            return
        send_frame(sock, payload)


def _fork_worker(control: socket.socket, worker_fd: int, limits: SandboxLimits) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        serve(socket.socket(fileno=worker_fd), limits)
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # never return into the zygote's loop


def zygote() -> None:
    """`python -c ZYGOTE_COMMAND <control fd> <memory bytes> <max result bytes>`."""
    control_fd, memory_bytes, max_result_bytes = (int(arg) for arg in sys.argv[1:4])
    limits = SandboxLimits(memory_bytes, max_result_bytes)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the executor to handle
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps workers as they end
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()  # workers' collections then skip (and leave shared) the preloaded heap
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            fds = []
        if not fds:
            return  # the executor closed the control socket, or is gone
        try:
            pid = _fork_worker(control, fds[0], limits)
        finally:
            os.close(fds[0])
        control.sendall(HEADER.pack(pid))
