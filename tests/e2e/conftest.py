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
    # The key ring as a mounted file, as in production, so it can rotate under running services.
    keys_file = tmp_path_factory.mktemp("keys") / "credentials.keys"
    keys_file.write_text(process_infra.keys["PORTICO_CREDENTIALS_KEYS"] + "\n")
    keys_file.chmod(0o600)
    running = LocalCluster(
        infra=process_infra,
        log_dir=tmp_path_factory.mktemp("cluster-logs"),
        extra_env={
            "PORTICO_HTTP_ALLOW_HOSTS": "127.0.0.1",
            "PORTICO_CREDENTIALS_KEYS": "",
            "PORTICO_CREDENTIALS_KEYS_FILE": str(keys_file),
        },
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
