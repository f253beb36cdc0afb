"""Fixtures for the credentials tests: a vhost of their own, the service running in-process
against this run's database, and an RPC client."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from bench.infra import Infra
from portico_credentials.app import Runtime, running

from .support import Rpc, service_settings


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_url(infra: Infra) -> Iterator[str]:
    """A vhost of these tests' own: a credentials service another suite runs on the shared
    vhost would otherwise answer our requests (with its own ring) and we theirs. Where we
    cannot make one (a remote or containerised broker), the shared vhost it is."""
    parts = urlsplit(infra.amqp_url)
    if parts.hostname not in ("127.0.0.1", "localhost") or shutil.which("rabbitmqctl") is None:
        yield infra.amqp_url
        return
    vhost = f"{infra.run_id}_credentials"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError):
        yield infra.amqp_url
        return
    try:
        yield urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
    finally:
        _rabbitmqctl("delete_vhost", vhost)


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
