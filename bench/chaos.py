"""Chaos: hundreds of executions of mixed workflows in flight while one fault at a time hits
Portico — kill -9 of the orchestrator, of each executor process, of the gateway; a RabbitMQ
restart; a PostgreSQL restart — on servers of the run's own. Afterwards every execution must
have succeeded, none lost, no node run recorded twice, and the side-effect server must have
seen each (execution, node) take effect exactly once.

`python -m bench.chaos [--executions 500] [--fault NAME ...]` prints a table; `tests/chaos`
runs the same phases at a smaller scale and asserts on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.chaos_load import GaveUpError, PatientClient, Tally, Workflow, workflows
from bench.chaos_world import CONNECTION_LOSS_EXPECTED, FAULTS, KILLED, SERVICES, World, chaos_world
from bench.client import TERMINAL, Portico


@dataclass
class Outcome:
    """What one phase did, each figure counted by the client or the side-effect server."""

    fault: str
    accepted: int = 0
    not_accepted: int = 0
    # Final, by status; "lost": the API answers 404; "unreadable": it never answered usefully.
    statuses: Counter[str] = field(default_factory=Counter)
    node_runs_twice: int = 0
    effects_expected: int = 0
    duplicates: int = 0  # a second effect for one (execution, node), under another key
    unkeyed: int = 0  # effects without a key naming their (execution, node)
    misses: int = 0
    redos: int = 0  # the same key again after a crash: deduplicated by the receiver, allowed
    strays: int = 0  # effects of executions no run request returned
    runs: Tally = field(default_factory=Tally)
    reads: Tally = field(default_factory=Tally)
    unplanned_restarts: int = 0  # service processes that died without being killed
    fault_s: float = 0.0
    seconds: float = 0.0

    def bad_answers(self, tally: Tally) -> Counter[str]:
        allowed = {"refused", "reset"} if self.fault in CONNECTION_LOSS_EXPECTED else set()
        return Counter({k: v for k, v in tally.failures.items() if k not in allowed})

    def problems(self) -> list[str]:
        """Every broken promise, in words; empty when the phase kept them all."""
        unfinished = {s: n for s, n in self.statuses.items() if s != "succeeded"}
        checks = {
            "run requests never accepted": self.not_accepted,
            f"executions not succeeded {unfinished}": sum(unfinished.values()),
            "node runs recorded twice": self.node_runs_twice,
            "side effects done twice": self.duplicates,
            "side effects without their key": self.unkeyed,
            "side effects missing": self.misses,
            "side effects of unknown executions": self.strays,
            f"bad answers to run requests {dict(self.bad_answers(self.runs))}": sum(
                self.bad_answers(self.runs).values()
            ),
            f"bad answers to reads {dict(self.bad_answers(self.reads))}": sum(
                self.bad_answers(self.reads).values()
            ),
            "service processes died unasked": self.unplanned_restarts,
        }
        return [f"{what}: {count}" for what, count in checks.items() if count]


@dataclass(frozen=True)
class Started:
    user: PatientClient
    workflow: Workflow
    workflow_id: str
    execution_id: str = ""


async def run_phase(
    world: World,
    users: list[PatientClient],
    fault: str,
    executions: int,
    concurrency: int = 16,
    finish_within_s: float = 120.0,
) -> Outcome:
    """Start `executions` runs; inject `fault` once half are accepted; wait; count."""
    began = time.monotonic()
    outcome = Outcome(fault)
    for user in users:
        user.runs, user.reads = Tally(), Tally()
    pids_before = world.pids()
    plans = [
        Started(user, workflow, await user.portico.create_workflow(workflow.graph))
        for user in users
        for workflow in workflows(world.effects.url)
    ]
    started = await _launch(world, plans, fault, executions, concurrency, outcome)
    outcome.accepted = len(started)
    await _wait_terminal(plans, started, finish_within_s)
    await asyncio.sleep(2.0)  # late redos and duplicates land here too
    await _score(world, started, outcome)
    outcome.unplanned_restarts = _unplanned_restarts(pids_before, world.pids(), fault)
    for user in users:
        outcome.runs.merge(user.runs)
        outcome.reads.merge(user.reads)
    outcome.seconds = time.monotonic() - began
    return outcome


async def _launch(
    world: World,
    plans: list[Started],
    fault: str,
    executions: int,
    concurrency: int,
    outcome: Outcome,
) -> list[Started]:
    started: list[Started] = []
    half_in_flight = asyncio.Event()
    gate = asyncio.Semaphore(concurrency)

    async def launch(index: int) -> None:
        plan = plans[index % len(plans)]
        async with gate:
            try:
                execution_id = await plan.user.run(plan.workflow_id, {"n": index})
            except GaveUpError:
                outcome.not_accepted += 1
                return
        world.known.add(execution_id)
        started.append(Started(plan.user, plan.workflow, plan.workflow_id, execution_id))
        if len(started) >= executions // 2:
            half_in_flight.set()

    async def inject() -> None:
        await half_in_flight.wait()
        at = time.monotonic()
        await FAULTS[fault](world)
        outcome.fault_s = time.monotonic() - at

    injecting = asyncio.create_task(inject())
    try:
        await asyncio.gather(*(launch(index) for index in range(executions)))
    finally:
        half_in_flight.set()
    await injecting
    return started


async def _wait_terminal(plans: list[Started], started: list[Started], within_s: float) -> None:
    waiting = {s.execution_id for s in started}
    deadline = time.monotonic() + within_s
    while waiting and time.monotonic() < deadline:
        for plan in plans:
            with contextlib.suppress(GaveUpError):  # counted; the next round asks again
                statuses = await plan.user.statuses(plan.workflow_id)
                waiting -= {id_ for id_, status in statuses.items() if status in TERMINAL}
        await asyncio.sleep(1.0)


async def _score(world: World, started: list[Started], outcome: Outcome) -> None:
    gate = asyncio.Semaphore(16)

    async def detail(one: Started) -> dict[str, Any] | str:
        async with gate:
            try:
                return await one.user.execution(one.execution_id) or "lost"
            except GaveUpError:
                return "unreadable"

    details = await asyncio.gather(*(detail(one) for one in started))
    for execution in details:
        if isinstance(execution, str):
            outcome.statuses[execution] += 1
            continue
        outcome.statuses[execution["status"]] += 1
        node_ids = [run["node_id"] for run in execution["node_runs"]]
        outcome.node_runs_twice += len(node_ids) - len(set(node_ids))
    done, redos, unkeyed = world.effects.ledger.snapshot()
    expected = [(one.execution_id, node) for one in started for node in one.workflow.effects]
    outcome.effects_expected = len(expected)
    outcome.duplicates = sum(max(0, done.get(pair, 0) - 1) for pair in expected)
    outcome.misses = sum(1 for pair in expected if not done.get(pair))
    outcome.unkeyed = sum(unkeyed[pair] for pair in expected)
    outcome.redos = sum(redos[pair] for pair in expected)
    strays = {pair for pair in done if pair[0] not in world.known} - world.strays_seen
    world.strays_seen |= strays
    outcome.strays = sum(done[pair] for pair in strays)


def _unplanned_restarts(
    before: dict[str, list[int]], after: dict[str, list[int]], fault: str
) -> int:
    gone = sum(len(set(before[s]) - set(after[s])) for s in SERVICES)
    return gone - (1 if fault in KILLED else 0)


COLUMNS = (
    "fault",
    "runs",
    "succeeded",
    "not succeeded",
    "node runs twice",
    "effects",
    "duplicates",
    "no key",
    "misses",
    "redos",
    "strays",
    "run 503/429",
    "run bad answers",
    "read 503",
    "read bad answers",
    "died unasked",
    "fault s",
    "total s",
)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "0"


def _row(o: Outcome) -> list[str]:
    unfinished = {s: n for s, n in o.statuses.items() if s != "succeeded"}
    return [
        o.fault,
        f"{o.accepted}" + (f" (+{o.not_accepted} refused)" if o.not_accepted else ""),
        str(o.statuses["succeeded"]),
        _counts(unfinished),
        str(o.node_runs_twice),
        str(o.effects_expected),
        str(o.duplicates),
        str(o.unkeyed),
        str(o.misses),
        str(o.redos),
        str(o.strays),
        str(o.runs.unavailable),
        _counts(o.runs.failures),
        str(o.reads.unavailable),
        _counts(o.reads.failures),
        str(o.unplanned_restarts),
        f"{o.fault_s:.1f}",
        f"{o.seconds:.0f}",
    ]


def format_table(outcomes: list[Outcome]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_row(outcome)) + " |" for outcome in outcomes]
    return "\n".join(lines)


async def signed_up_users(base_url: str, count: int) -> list[PatientClient]:
    return [PatientClient(await Portico(base_url).signup()) for _ in range(count)]


async def _main(world: World, faults: list[str], executions: int) -> list[Outcome]:
    users = await signed_up_users(world.stack.base_url, 2)
    outcomes = []
    try:
        for fault in faults:
            outcome = await run_phase(world, users, fault, executions)
            outcomes.append(outcome)
            print(format_table([outcome]).splitlines()[-1], flush=True)
    finally:
        for user in users:
            await user.close()
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=500, help="runs started per fault")
    parser.add_argument("--fault", action="append", choices=list(FAULTS), help="(repeatable)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the servers' folder and logs (kept anyway when a phase fails)",
    )
    args = parser.parse_args()
    with chaos_world() as world:
        print(f"servers, logs: {world.root}\n" + format_table([]), flush=True)
        outcomes = asyncio.run(_main(world, args.fault or list(FAULTS), args.executions))
        world.keep = args.keep or any(outcome.problems() for outcome in outcomes)
    print("\n" + format_table(outcomes))
    for outcome in outcomes:
        for problem in outcome.problems():
            print(f"{outcome.fault}: {problem}")


if __name__ == "__main__":
    main()
