"""A throwaway Portico on this machine, for end-to-end tests and benchmarks.

`isolated_infra` makes a database and a RabbitMQ vhost of their own on the local servers (and
drops them afterwards); `LocalCluster` runs each service as a real process against them and can
kill -9 and restart any one of them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

LOCAL_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP_ROOT = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class Infra:
    database_url: str  # SQLAlchemy asyncpg URL, as PORTICO_DATABASE_URL takes it
    amqp_url: str
    run_id: str

    def env(self) -> dict[str, str]:
        return {"PORTICO_DATABASE_URL": self.database_url, "PORTICO_AMQP_URL": self.amqp_url}

    @property
    def asyncpg_dsn(self) -> str:
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


async def _admin_sql(sql: str) -> None:
    connection = await asyncpg.connect(LOCAL_PG_ADMIN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def isolated_infra(prefix: str = "portico_test") -> Iterator[Infra]:
    """A fresh database and vhost on the local servers, migrated; both dropped afterwards."""
    from portico.migrate import upgrade_all

    run_id = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{run_id}"'))
    try:
        _rabbitmqctl("add_vhost", run_id)
        _rabbitmqctl("set_permissions", "-p", run_id, "guest", ".*", ".*", ".*")
        infra = Infra(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{run_id}",
            amqp_url=f"{LOCAL_AMQP_ROOT}{run_id}",
            run_id=run_id,
        )
        upgrade_all(infra.database_url)
        yield infra
    finally:
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_vhost", run_id],
            capture_output=True,
            check=False,
            timeout=60,
        )
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{run_id}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalCluster:
    """Every service as its own process; logs go to `log_dir/<service>.log`."""

    infra: Infra
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.infra.env(),
            "PORTICO_HOST": "127.0.0.1",
            "PORTICO_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, service: str, *args: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", f"portico_{service}", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_all(self, executor_args: tuple[str, ...] = ()) -> None:
        self.start("orchestrator")
        self.start("executors", *executor_args)
        self.start("gateway")
        self.wait_ready()

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see "
                        f"{self.log_dir / (name + '.log')}"
                    )
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"gateway not ready after {timeout_s}s; logs in {self.log_dir}")

    def kill(self, service: str) -> None:
        """kill -9: no shutdown hook runs, exactly like a crash."""
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
