"""Fixtures for the executors tests: a local HTTP server, the executors app running in-process
against this run's RabbitMQ vhost, and a client that publishes NodeReady and collects results.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest

from portico_executors.app import Runtime, running, sandbox_pool
from portico_executors.sandbox import SandboxPool
from tests.harness.vhosts import private_vhost

from .http_server import serving
from .support import NodeClient, executor_settings


@pytest.fixture(scope="session")
def amqp_url(infra: Any) -> Iterator[str]:
    """A vhost of these tests' own, next to this run's shared one.

    Other suites in the run (the e2e cluster, the orchestrator's tests) keep consumers on the
    very queues these tests use (`executor.*`, results); competing consumers would answer our
    messages and we theirs. Where we cannot make a vhost (a remote or containerised broker),
    we fall back to the shared one.
    """
    with private_vhost(infra, "executors") as url:
        yield url


@pytest.fixture(scope="session")
async def http_base() -> AsyncIterator[str]:
    async with serving() as base:
        yield base


@pytest.fixture(scope="module")
async def node_client(amqp_url: str) -> AsyncIterator[NodeClient]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    client = NodeClient(connection, channel)
    await client.start()
    try:
        yield client
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def executors(amqp_url: str, node_client: NodeClient) -> AsyncIterator[Runtime]:
    async with running(executor_settings(amqp_url)) as runtime:
        yield runtime


@pytest.fixture(scope="session")
async def sandbox() -> AsyncIterator[SandboxPool]:
    """Sandbox workers with the default settings, for tests that call runners directly."""
    async with sandbox_pool(executor_settings("amqp://unused/")) as pool:
        yield pool
