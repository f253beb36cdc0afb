"""Run every service as its own process, prefix its logs, and restart it when it dies."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterable

from portico.settings import LauncherSettings

_COLOURS = {"gateway": 36, "orchestrator": 35, "executors": 33, "credentials": 32}
_STABLE_AFTER_S = 30.0  # a process that lived this long restarts with the shortest delay again


def _prefix(name: str) -> str:
    width = max(len(n) for n in _COLOURS)
    label = f"{name:<{width}} |"
    return f"\033[{_COLOURS.get(name, 37)}m{label}\033[0m " if sys.stdout.isatty() else f"{label} "


async def _pump(name: str, stream: asyncio.StreamReader) -> None:
    prefix = _prefix(name)
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def _supervise(name: str, settings: LauncherSettings, stopping: asyncio.Event) -> None:
    delay = settings.restart_delay_s
    loop = asyncio.get_running_loop()
    while not stopping.is_set():
        started = loop.time()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-u",
            "-m",
            f"portico_{name}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        pump = asyncio.create_task(_pump(name, process.stdout))
        waiter = asyncio.create_task(process.wait())
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.is_set() and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()
        stop.cancel()
        await pump
        if stopping.is_set():
            return
        delay = settings.restart_delay_s if loop.time() - started > _STABLE_AFTER_S else delay
        print(f"{_prefix(name)}exited with code {process.returncode}; restarting in {delay:.0f}s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=delay)
        delay = min(delay * 2, settings.restart_delay_max_s)


async def run_all(settings: LauncherSettings, services: Iterable[str]) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    tasks = [asyncio.create_task(_supervise(name, settings, stopping)) for name in services]
    print(
        f"Portico is starting: open http://{settings.host}:{settings.port}/ (API docs at /docs)."
        " Ctrl-C stops every service."
    )
    await asyncio.gather(*tasks)
    return 0
