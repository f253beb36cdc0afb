"""The chaos suite's own world: PostgreSQL, RabbitMQ, Portico and the side-effect server, started
once for the session and stopped at its end; each phase's figures are printed as a table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bench.chaos import Outcome, format_table, signed_up_users
from bench.chaos_load import PatientClient
from bench.chaos_world import World, chaos_world

OUTCOMES: list[Outcome] = []


@pytest.fixture(scope="session")
def chaos() -> Iterator[World]:
    with chaos_world() as world:
        yield world
        world.keep = any(outcome.problems() for outcome in OUTCOMES)


@pytest.fixture(scope="session")
async def chaos_users(chaos: World) -> AsyncIterator[list[PatientClient]]:
    users = await signed_up_users(chaos.stack.base_url, 2)
    yield users
    for user in users:
        await user.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if OUTCOMES:
        terminalreporter.write_sep("=", "chaos: one fault per phase")
        terminalreporter.write_line(format_table(OUTCOMES))
