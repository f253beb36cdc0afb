"""Scale-out, on stacks of its own started from the same source tree as the others:

- executors: trigger → 1 http node against a local server answering in 50 ms (I/O-bound), each
  executor process running `scale_prefetch` nodes at once; throughput with 1, 2 and 4 executor
  processes, and how linear it is (throughput of n ÷ (n x throughput of 1));
- orchestrators: the same workflow with executors that are never the limit, with 1 and then 2
  orchestrator replicas; the receiving server counts every request it saw by Idempotency-Key
  and by (execution, node), so anything processed twice shows there, not in Portico's word.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench import graphs
from bench.follow import following
from bench.harness import Deployment, running_stack, signed_up
from bench.load import Load, check_persisted, closed_loop
from bench.options import Options
from bench.report import Check, Outcome
from bench.side_effects import SideEffectServer

_ANSWER_S = 0.05
_NODES_PER_RUN = 2  # the trigger and the http call


@dataclass(frozen=True)
class Received:
    """What the local server saw: every request, distinct keys, distinct (execution, node)."""

    requests: int
    keys: int
    pairs: int

    @property
    def twice(self) -> int:
        """Requests beyond one per (execution, node): a repeat, keyed alike or not."""
        return self.requests - self.pairs


async def _http_load(
    deployment: Deployment, options: Options, outcome: Outcome, label: str
) -> tuple[Load, Received]:
    with SideEffectServer(latency_s=_ANSWER_S) as server:
        async with signed_up(deployment.base_url) as client:
            workflow_id = await client.create_workflow(graphs.one_http_call(server.url))
            async with following(client, workflow_id) as follower:
                await closed_loop(client, follower, workflow_id, options.clients, 1.0)
                load = await closed_loop(
                    client, follower, workflow_id, options.clients, options.scale_seconds
                )
        effects, redos, _ = server.ledger.snapshot()
    keyed = sum(effects.values())
    received = Received(keyed + sum(redos.values()), keyed, len(effects))
    checks = Outcome(outcome.workload, label)
    await check_persisted(deployment, load, _NODES_PER_RUN, checks)
    outcome.checks += [Check(f"{label}: {c.label}", c.ok) for c in checks.checks]
    return load, received


def _measure(
    deployment: Deployment, options: Options, outcome: Outcome, label: str
) -> tuple[Load, Received]:
    load, received = asyncio.run(_http_load(deployment, options, outcome, label))
    outcome.check(
        f"{label}: the server saw {received.requests} requests, {received.keys} distinct keys, "
        f"{received.pairs} distinct (execution, node)",
        received.twice == 0 and received.requests == received.keys,
    )
    return load, received


def _executors(tree_stack: Deployment, options: Options, outcome: Outcome) -> list[Received]:
    rates: dict[int, float] = {}
    seen: list[Received] = []
    running = 1
    for executors in (1, 2, 4):
        while running < executors:
            tree_stack.add_replica("executors")
            running += 1
        load, received = _measure(tree_stack, options, outcome, f"{executors} executor(s)")
        seen.append(received)
        rates[executors] = load.runs_per_s
        outcome.add(
            f"executors_{executors}_runs_per_s",
            f"{executors} executor process(es)",
            load.runs_per_s,
            "runs/s",
        )
    for executors in (2, 4):
        outcome.add(
            f"linearity_{executors}_pct",
            f"linearity 1 → {executors}",
            100 * rates[executors] / (executors * rates[1]) if rates[1] else 0.0,
            "%",
        )
    return seen


def _orchestrators(tree_stack: Deployment, options: Options, outcome: Outcome) -> list[Received]:
    tree_stack.add_replica("executors")
    one, seen_one = _measure(tree_stack, options, outcome, "1 orchestrator")
    tree_stack.add_replica("orchestrator")
    two, seen_two = _measure(tree_stack, options, outcome, "2 orchestrators")
    outcome.add("orchestrators_1_runs_per_s", "1 orchestrator", one.runs_per_s, "runs/s")
    outcome.add("orchestrators_2_runs_per_s", "2 orchestrators", two.runs_per_s, "runs/s")
    outcome.add(
        "orchestrators_2_over_1",
        "2 orchestrators / 1",
        two.runs_per_s / one.runs_per_s if one.runs_per_s else 0.0,
        "x",
    )
    return [seen_one, seen_two]


_SMALL_POOLS = {"PORTICO_DB_POOL_SIZE": "4", "PORTICO_DB_MAX_OVERFLOW": "4"}


def scaleout(main: Deployment, options: Options) -> Outcome:
    outcome = Outcome(
        "scaleout",
        f"Scale-out: trigger → http node (server answers in {_ANSWER_S * 1000:.0f} ms), "
        f"{options.clients} clients, {options.scale_seconds:.0f} s each",
    )
    tree = main.stack.tree
    prefetch = {"PORTICO_EXECUTOR_PREFETCH": str(options.scale_prefetch)}
    with running_stack(tree, {**prefetch, **_SMALL_POOLS}) as deployment:
        seen = _executors(deployment, options, outcome)
    # Smaller pools: two replicas beside the stacks the bench already runs (two of them under
    # `compare`) would otherwise pass PostgreSQL's default 100 connections.
    with running_stack(tree, _SMALL_POOLS) as deployment:
        seen += _orchestrators(deployment, options, outcome)
    twice = sum(received.twice for received in seen)
    outcome.add("processed_twice", "requests processed twice (all phases)", twice)
    return outcome
