"""Hundreds of executions in flight while one fault at a time hits Portico: each phase must end
with every execution succeeded, no node run recorded twice, each side effect taking effect
exactly once at the receiver, and no 500 or broken connection from the gateway."""

from __future__ import annotations

import pytest

from bench.chaos import run_phase
from bench.chaos_load import PatientClient
from bench.chaos_world import FAULTS, World
from tests.chaos.conftest import OUTCOMES

pytestmark = [pytest.mark.chaos, pytest.mark.xdist_group("chaos")]

EXECUTIONS = 200


@pytest.mark.timeout(600)
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_nothing_lost_nothing_twice(
    fault: str, chaos: World, chaos_users: list[PatientClient]
) -> None:
    outcome = await run_phase(chaos, chaos_users, fault, EXECUTIONS)
    OUTCOMES.append(outcome)
    assert outcome.problems() == [], f"{fault}: see the logs in {chaos.root / 'logs'}"
