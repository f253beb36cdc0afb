"""Start a private Portico (own database and vhost, `portico up`) for a benchmark."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path

from bench.client import Portico
from bench.infra import isolated_infra
from bench.stack import Stack

# A benchmark measures the engine, not the per-tenant limit on run requests (one tenant here
# sends thousands a minute on purpose).
UNLIMITED_RUNS = {
    "PORTICO_RATE_LIMIT_RUNS_PER_TENANT": "",
    "PORTICO_RATE_LIMIT_WEBHOOKS_PER_TENANT": "",
}
# The http benchmarks call a server of their own on loopback.
LOCAL_CALLS = {"PORTICO_HTTP_ALLOW_HOSTS": "127.0.0.1"}


@contextmanager
def running_stack() -> Iterator[Stack]:
    with isolated_infra("portico_bench") as infra:
        env = {**infra.env(), **UNLIMITED_RUNS, **LOCAL_CALLS}
        stack = Stack(env, Path(tempfile.mkdtemp(prefix="portico-bench-")))
        stack.start()
        try:
            yield stack
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]
