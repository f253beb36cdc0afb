"""Start a private Portico (own database and vhost, every service a process) for a benchmark."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path

from tests.e2e.client import Portico

from portico.cluster import LocalCluster, isolated_infra


@contextmanager
def running_cluster() -> Iterator[LocalCluster]:
    with isolated_infra("portico_bench") as infra:
        cluster = LocalCluster(infra=infra, log_dir=Path(tempfile.mkdtemp(prefix="portico-bench-")))
        cluster.start_all()
        try:
            yield cluster
        finally:
            cluster.stop_all()


@asynccontextmanager
async def signed_up(cluster: LocalCluster) -> AsyncIterator[Portico]:
    client = await Portico(cluster.base_url).signup()
    try:
        yield client
    finally:
        await client.close()


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]
