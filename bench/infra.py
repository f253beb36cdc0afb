"""A database and a RabbitMQ vhost of one's own on the local servers, for a benchmark or a test run.

`isolated_infra` makes both (and drops them afterwards), so runs on a shared machine never see
each other's rows or messages.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import asyncpg

from portico.dev_keys import fresh_keys

LOCAL_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP_ROOT = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class Infra:
    database_url: str  # SQLAlchemy asyncpg URL, as PORTICO_DATABASE_URL takes it
    amqp_url: str
    run_id: str
    # A key ring and grant key pair of this run's own.
    keys: dict[str, str] = field(default_factory=fresh_keys)

    def env(self) -> dict[str, str]:
        return {
            "PORTICO_DATABASE_URL": self.database_url,
            "PORTICO_AMQP_URL": self.amqp_url,
            **self.keys,
        }

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
def isolated_infra(prefix: str = "portico_test", migrate: bool = True) -> Iterator[Infra]:
    """A fresh database and vhost on the local servers, migrated unless `migrate` is false
    (`portico up` migrates by itself); both dropped afterwards."""
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
        if migrate:
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


def queue_consumers(vhost: str, queue: str) -> int:
    """How many consumers `queue` of `vhost` has now (0 if it does not exist yet)."""
    listed = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_queues",
            "-p",
            vhost,
            "--no-table-headers",
            "name",
            "consumers",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for line in listed.stdout.splitlines():
        name, _, count = line.rpartition("\t")
        if name == queue:
            return int(count)
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
