"""Fixtures for the credentials tests: a vhost of their own, the service running in-process
against this run's database, and an RPC client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bench.infra import Infra
from portico_credentials.app import Runtime, running
from tests.harness.vhosts import private_vhost

from .support import Rpc, service_settings


@pytest.fixture(scope="session")
def amqp_url(infra: Infra) -> Iterator[str]:
    """A vhost of these tests' own: a credentials service another suite runs on the shared
    vhost would otherwise answer our requests (with its own ring) and we theirs. Where we
    cannot make one (a remote or containerised broker), the shared vhost it is."""
    with private_vhost(infra, "credentials") as url:
        yield url


@pytest.fixture(scope="module")
async def credentials_service(infra: Infra, amqp_url: str) -> AsyncIterator[Runtime]:
    async with running(service_settings(infra, amqp_url)) as runtime:
        yield runtime


@pytest.fixture(scope="module")
async def rpc(amqp_url: str) -> AsyncIterator[Rpc]:
    client = Rpc(amqp_url)
    await client.open()
    try:
        yield client
    finally:
        await client.close()
