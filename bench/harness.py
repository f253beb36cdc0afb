"""Start a private Portico (own database and vhost, `portico up`) for a benchmark, and measure its
processes from outside: CPU seconds and RSS of each service's process tree.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from bench import procstat
from bench.client import Portico
from bench.infra import Infra, isolated_infra, queue_consumers
from bench.stack import Stack
from bench.tree import CURRENT, SourceTree

# A benchmark measures the engine, not the limits that protect it from one noisy tenant or
# address (one tenant here sends thousands of run requests a minute, and every workload signs
# up a user of its own).
UNLIMITED = {
    "PORTICO_RATE_LIMIT_RUNS_PER_TENANT": "",
    "PORTICO_RATE_LIMIT_WEBHOOKS_PER_TENANT": "",
    "PORTICO_RATE_LIMIT_SIGNUP_PER_IP": "",
    "PORTICO_RATE_LIMIT_SIGNUP_PER_ACCOUNT": "",
    "PORTICO_RATE_LIMIT_LOGIN_PER_IP": "",
    "PORTICO_RATE_LIMIT_LOGIN_PER_ACCOUNT": "",
    "PORTICO_RATE_LIMIT_WS_CONNECT_PER_IP": "",
}
# The http benchmarks call a server of their own on loopback.
LOCAL_CALLS = {"PORTICO_HTTP_ALLOW_HOSTS": "127.0.0.1"}
# Where replicas consume: one more consumer here means the new process is at work.
_WORK_QUEUES = {"executors": "executor.http", "orchestrator": "orchestrator.node.result"}


@dataclass
class Deployment:
    """A running stack on its own database and vhost."""

    stack: Stack
    infra: Infra
    idle_rss: dict[str, int]  # bytes per service, right after start, before any load

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    async def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of each service's processes, of RabbitMQ (the whole node, shared
        with anything else on this machine) and of the PostgreSQL backends serving this
        deployment's database."""
        figures = {
            service: procstat.cpu_seconds(pids)
            for service, pids in self.stack.service_pids().items()
        }
        # `portico up` and the replicas' supervisors relay every log line of their services.
        supervisors = [process.pid for process in self.stack.supervisors]
        figures["supervisors"] = procstat.own_cpu_seconds(supervisors)
        figures["postgres (this db)"] = procstat.cpu_seconds(await self._postgres_backends())
        figures["rabbitmq (shared)"] = procstat.cpu_seconds(_pids_named("beam.smp"))
        return figures

    def rss(self) -> dict[str, int]:
        return {
            service: procstat.rss_bytes(pids) for service, pids in self.stack.service_pids().items()
        }

    async def _postgres_backends(self) -> list[int]:
        db = await self.database()
        try:
            rows = await db.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await db.close()
        return [row["pid"] for row in rows]

    def add_replica(self, service: str, env: dict[str, str] | None = None) -> None:
        """One more process of `service`; returns once it consumes its work queue."""
        queue = _WORK_QUEUES[service]
        before = queue_consumers(self.infra.run_id, queue)
        self.stack.add_replica(service, env)
        deadline = time.monotonic() + 90
        while queue_consumers(self.infra.run_id, queue) <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"a new {service} replica did not start consuming {queue}")
            time.sleep(0.5)

    async def database(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.infra.asyncpg_dsn)


def _pids_named(name: str) -> list[int]:
    listed = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, check=False)
    return [int(pid) for pid in listed.stdout.split()]


@contextmanager
def running_stack(
    tree: SourceTree = CURRENT, env: dict[str, str] | None = None
) -> Iterator[Deployment]:
    """`portico up` from `tree` on a fresh database and vhost (migrated by `portico up` itself,
    so a baseline tree applies its own migrations); `env` adds settings for every service."""
    with isolated_infra("portico_bench", migrate=False) as infra:
        stack = Stack(
            {**infra.env(), **UNLIMITED, **LOCAL_CALLS, **(env or {})},
            Path(tempfile.mkdtemp(prefix="portico-bench-")),
            tree=tree,
        )
        stack.start()
        try:
            deployment = Deployment(stack, infra, {})
            deployment.idle_rss = deployment.rss()
            yield deployment
        finally:
            stack.stop()


@asynccontextmanager
async def signed_up(base_url: str) -> AsyncIterator[Portico]:
    client = await Portico(base_url).signup()
    try:
        yield client
    finally:
        await client.close()


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)
