"""Latency workloads, each run measured from the client: run request sent → terminal event read
on the WebSocket.

- floor:    the machine's floor for one durable hop (bench.floor), on this deployment's servers
- chain:    a chain of 40 trivial transform nodes; per node = a run's total / 40 (as the floor's),
            and per hop = the gap between two consecutive node.succeeded events
- parallel: 20 parallel 100 ms waits joined by a merge; makespan
"""

from __future__ import annotations

import asyncio
import time

from bench import graphs
from bench.floor import measure_floor
from bench.follow import Trace, following
from bench.harness import Deployment, signed_up
from bench.options import Options
from bench.report import Outcome
from bench.stats import percentile


def floor(deployment: Deployment, options: Options) -> Outcome:
    infra = deployment.infra
    figures = asyncio.run(
        measure_floor(
            infra.asyncpg_dsn, infra.amqp_url, options.chain_length, options.floor_repeats
        )
    ).summary()
    outcome = Outcome(
        "floor",
        f"Floor: one durable hop in plain asyncpg + aio-pika "
        f"({options.chain_length}-step chains x {options.floor_repeats})",
    )
    outcome.add(
        "per_node_p50_ms", "per node p50 (chain total / nodes)", figures["per_node_p50_ms"], "ms"
    )
    outcome.add("per_node_p99_ms", "per node p99", figures["per_node_p99_ms"], "ms")
    outcome.add("per_hop_p50_ms", "per hop p50", figures["per_hop_p50_ms"], "ms")
    outcome.add("per_hop_p99_ms", "per hop p99", figures["per_hop_p99_ms"], "ms")
    return outcome


async def sequential_runs(
    deployment: Deployment, graph: graphs.Graph, runs: int
) -> list[tuple[float, Trace]]:
    """(sent, trace) of `runs` sequential runs, after one warm-up run."""
    async with signed_up(deployment.base_url) as client:
        workflow_id = await client.create_workflow(graph)
        async with following(client, workflow_id) as follower:
            done: list[tuple[float, Trace]] = []
            for _ in range(runs + 1):
                sent = time.perf_counter()
                trace = await follower.finished(await client.run(workflow_id))
                if not trace.succeeded:
                    raise RuntimeError(f"{graph['name']}: {trace.execution_id} did not succeed")
                done.append((sent, trace))
    return done[1:]


def chain(deployment: Deployment, options: Options) -> Outcome:
    length = options.chain_length
    runs = asyncio.run(sequential_runs(deployment, graphs.chain(length), options.chain_runs))
    per_node = [(trace.terminal.received - sent) * 1000 / length for sent, trace in runs]
    chain_ids = ["start", *(f"n{i}" for i in range(length))]
    hops = [hop for _, trace in runs for hop in trace.hops_ms(chain_ids)]
    outcome = Outcome("chain", f"Chain of {length} transform nodes ({len(runs)} runs)")
    outcome.add(
        "per_node_p50_ms", "per node p50 (run total / nodes)", percentile(per_node, 50), "ms"
    )
    outcome.add("per_node_p99_ms", "per node p99", percentile(per_node, 99), "ms")
    outcome.add("per_hop_p50_ms", "per hop p50 (node.succeeded → next)", percentile(hops, 50), "ms")
    outcome.add("per_hop_p99_ms", "per hop p99", percentile(hops, 99), "ms")
    outcome.add("total_p50_ms", "run total p50", percentile(per_node, 50) * length, "ms")
    outcome.check(
        "every run's events arrived once each, in seq order",
        all(trace.gapless() for _, trace in runs),
    )
    return outcome


def parallel(deployment: Deployment, options: Options) -> Outcome:
    runs = asyncio.run(sequential_runs(deployment, graphs.fan_out(20, 0.1), options.parallel_runs))
    spans = [(trace.terminal.received - sent) * 1000 for sent, trace in runs]
    outcome = Outcome("parallel", f"Fan-out: 20 parallel 100 ms waits → merge ({len(runs)} runs)")
    outcome.add("makespan_p50_ms", "makespan p50", percentile(spans, 50), "ms")
    outcome.add("makespan_p99_ms", "makespan p99", percentile(spans, 99), "ms")
    outcome.check(
        "every run's events arrived once each, in seq order",
        all(trace.gapless() for _, trace in runs),
    )
    return outcome
