"""Test infrastructure: a real PostgreSQL database and RabbitMQ vhost of this run's own.

Where a Docker engine answers, they come from testcontainers; otherwise (our machines and CI)
from the servers on 127.0.0.1, isolated by a fresh database and vhost named after this run and
dropped at the end. `PORTICO_TEST_DATABASE_URL` / `PORTICO_TEST_AMQP_URL` point at others.

Every test sees `PORTICO_DATABASE_URL` and `PORTICO_AMQP_URL` set to the isolated ones, so
each service's `Settings()` and any subprocess it starts land there too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from bench.infra import Infra, isolated_infra


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    run_id = f"portico_test_{uuid.uuid4().hex[:10]}"
    explicit_db = os.environ.get("PORTICO_TEST_DATABASE_URL")
    explicit_amqp = os.environ.get("PORTICO_TEST_AMQP_URL")
    if explicit_db and explicit_amqp:
        yield _activate(Infra(explicit_db, explicit_amqp, run_id))
    elif _docker_answers():
        yield from _containers(run_id)
    else:
        yield from _local_servers()


@pytest.fixture(scope="session")
def process_infra(infra: Infra) -> Iterator[Infra]:
    """A database and vhost apart from `infra`, for services run as processes: their
    consumers must not take the messages of the in-process services other tests drive.
    Only the local servers can make one; given servers (explicit, containers) are shared."""
    if infra.run_id.startswith("portico_test_") and infra.amqp_url.startswith(
        "amqp://guest:guest@127.0.0.1:5672/portico_test_"
    ):
        with isolated_infra("portico_procs") as apart:
            yield apart
    else:
        yield infra


def _activate(infra: Infra) -> Infra:
    os.environ.update(infra.env())
    from portico.migrate import upgrade_all

    upgrade_all(infra.database_url)
    return infra


def _local_servers() -> Iterator[Infra]:
    # isolated_infra names (and migrates) its own database and vhost.
    with isolated_infra() as infra:
        os.environ.update(infra.env())
        yield infra


def _containers(run_id: str) -> Iterator[Infra]:
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    with (
        PostgresContainer("postgres:16", driver="asyncpg") as pg,
        RabbitMqContainer("rabbitmq:3.13") as rabbit,
    ):
        amqp = (
            f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
        )
        yield _activate(Infra(pg.get_connection_url(), amqp, run_id))
