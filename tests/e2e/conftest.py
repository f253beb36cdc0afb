"""Every service as a real process, driven over real HTTP and WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bench.infra import Infra
from tests.e2e.client import Portico
from tests.e2e.outside import _Server, outside_api
from tests.harness.cluster import LocalCluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def outside() -> Iterator[_Server]:
    with outside_api() as server:
        yield server


@pytest.fixture(scope="session")
def cluster(
    process_infra: Infra, tmp_path_factory: pytest.TempPathFactory, outside: _Server
) -> Iterator[LocalCluster]:
    running = LocalCluster(
        infra=process_infra,
        log_dir=tmp_path_factory.mktemp("cluster-logs"),
        extra_env={"PORTICO_HTTP_ALLOW_HOSTS": "127.0.0.1"},
    )
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture
async def user(cluster: LocalCluster) -> AsyncIterator[Portico]:
    client = await Portico(cluster.base_url).signup()
    yield client
    await client.close()


@pytest.fixture
async def other_user(cluster: LocalCluster) -> AsyncIterator[Portico]:
    client = await Portico(cluster.base_url).signup()
    yield client
    await client.close()
