"""All a chaos run needs, of its own — PostgreSQL, RabbitMQ, Portico under `portico up` with a
second executor replica, the side-effect server — and the faults it injects, one at a time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.chaos_servers import PrivatePostgres, PrivateRabbit
from bench.side_effects import Pair, SideEffectServer
from bench.stack import Stack

EXECUTOR_REPLICAS = 2
SERVICES = ("gateway", "orchestrator", "executors")
# How long a restarted server stays down: long enough for every service to notice.
DOWN_S = 3.0


@dataclass
class World:
    postgres: PrivatePostgres
    rabbit: PrivateRabbit
    stack: Stack
    effects: SideEffectServer
    root: Path
    known: set[str] = field(default_factory=set)  # every execution id a run request returned
    strays_seen: set[Pair] = field(default_factory=set)
    keep: bool = False  # keep `root` (data and logs) after the run, to look into a failure

    def pids(self) -> dict[str, list[int]]:
        return {service: self.stack.pids(service) for service in SERVICES}


@contextmanager
def chaos_world() -> Iterator[World]:
    """Start everything on a fresh folder; stop it all and remove the folder unless `keep`."""
    root = Path(tempfile.mkdtemp(prefix="portico-chaos-"))
    root.chmod(0o755)  # the servers run as their own users and must reach their folders
    keep = True  # a failed start leaves its logs
    try:
        with ExitStack() as stack:
            world = _start(root, stack)
            yield world
            keep = world.keep
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _start(root: Path, on_exit: ExitStack) -> World:
    postgres = PrivatePostgres(root / "postgres")
    rabbit = PrivateRabbit(root / "rabbitmq")
    postgres.init()
    rabbit.init()
    postgres.start()
    on_exit.callback(postgres.stop)
    rabbit.start()
    on_exit.callback(rabbit.stop)
    effects = on_exit.enter_context(SideEffectServer())
    env = {
        "PORTICO_DATABASE_URL": postgres.database_url,
        "PORTICO_AMQP_URL": rabbit.amqp_url,
        "PORTICO_HTTP_ALLOW_HOSTS": "127.0.0.1",  # the side-effect server is local
        "PORTICO_RESTART_DELAY_S": "0.5",
    }
    portico = Stack(env, root / "logs", executor_replicas=EXECUTOR_REPLICAS)
    on_exit.callback(portico.stop)
    portico.start()
    return World(postgres, rabbit, portico, effects, root)


async def _until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(done):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


def _kill(service: str, index: int) -> Callable[[World], Awaitable[None]]:
    async def fault(world: World) -> None:
        running = world.stack.pids(service)
        victim = running[index]
        os.kill(victim, signal.SIGKILL)  # no shutdown hook runs: a crash

        def restarted() -> bool:
            now = world.stack.pids(service)
            return len(now) == len(running) and victim not in now

        await _until(restarted, 60, f"{service} not restarted after kill -9")

    return fault


async def _restart_rabbitmq(world: World) -> None:
    await asyncio.to_thread(world.rabbit.stop)
    await asyncio.sleep(DOWN_S)
    await asyncio.to_thread(world.rabbit.start)


async def _restart_postgres(world: World) -> None:
    await asyncio.to_thread(world.postgres.stop)
    await asyncio.sleep(DOWN_S)
    await asyncio.to_thread(world.postgres.start)


async def _nothing(world: World) -> None:
    return


FAULTS: dict[str, Callable[[World], Awaitable[None]]] = {
    "none": _nothing,
    "kill -9 orchestrator": _kill("orchestrator", 0),
    **{
        f"kill -9 executors #{index + 1}": _kill("executors", index)
        for index in range(EXECUTOR_REPLICAS)
    },
    "kill -9 gateway": _kill("gateway", 0),
    "restart rabbitmq": _restart_rabbitmq,
    "restart postgresql": _restart_postgres,
}
# While the gateway itself is dead nobody can answer: refused and broken connections are the
# only possible answer then, not a fault of the gateway's error handling.
CONNECTION_LOSS_EXPECTED = {"kill -9 gateway"}
# The faults that restart a process on purpose, and which service.
KILLED = {name: name.split()[2] for name in FAULTS if name.startswith("kill -9")}
