"""An in-process orchestrator in this run's database and vhost, and a `Bus` to talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from portico_orchestrator.app import Orchestrator
from portico_orchestrator.config import Settings
from tests.orchestrator.harness import Bus


def orchestrator_settings(**overrides: Any) -> Settings:
    # Short relay and poll intervals so crash-recovery paths show up within a test.
    values: dict[str, Any] = {
        "outbox_relay_interval_s": 0.2,
        "timer_poll_interval_s": 0.3,
        "db_pool_size": 3,
        "db_max_overflow": 5,
        "db_read_pool_size": 1,
        # Executor tests may share this vhost: leave their queues to them.
        "declare_executor_queues": False,
        **overrides,
    }
    return Settings(**values)


class Running:
    """The orchestrator under test, with `overrides` of its settings; `restart` stops it and
    starts a fresh replica with the same ones."""

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides
        self.instance = Orchestrator(orchestrator_settings(**overrides))

    async def restart(self, pause: float = 0.0) -> None:
        import asyncio

        await self.instance.stop()
        await asyncio.sleep(pause)
        self.instance = Orchestrator(orchestrator_settings(**self.overrides))
        await self.instance.start()


@pytest.fixture(scope="module")
def amqp_url(infra: Any) -> str:
    """The vhost of a module's orchestrator and bus. A module whose replica must run alone (no
    other suite's orchestrator taking its messages) overrides it with a private vhost."""
    return str(infra.amqp_url)


@pytest.fixture(scope="module")
async def orchestrator(amqp_url: str) -> AsyncIterator[Running]:
    running = Running(amqp_url=amqp_url)
    await running.instance.start()
    yield running
    await running.instance.stop()


@pytest.fixture(scope="module")
async def bus(amqp_url: str, orchestrator: Running) -> AsyncIterator[Bus]:
    connected = Bus(amqp_url)
    await connected.open()
    yield connected
    await connected.close()
