"""Throughput: trigger → 1 transform node, `clients` closed-loop clients, every run followed to
its terminal event on the WebSocket; then the CPU each process spent per execution, so the next
bottleneck shows, and the database's word that every run and node run was persisted.
"""

from __future__ import annotations

import asyncio
import time

from bench import graphs
from bench.follow import following
from bench.harness import Deployment, signed_up
from bench.load import check_persisted, closed_loop
from bench.options import Options
from bench.report import Outcome

_NODES_PER_RUN = 2  # the trigger and the transform


async def _measure(deployment: Deployment, options: Options) -> Outcome:
    outcome = Outcome(
        "throughput",
        f"Throughput: trigger → 1 node, {options.clients} clients, "
        f"{options.throughput_seconds:.0f} s",
    )
    async with signed_up(deployment.base_url) as client:
        workflow_id = await client.create_workflow(graphs.one_node())
        async with following(client, workflow_id) as follower:
            await closed_loop(client, follower, workflow_id, options.clients, 1.0)  # warm up
            before = await deployment.cpu_seconds()
            own_before = time.process_time()
            load = await closed_loop(
                client, follower, workflow_id, options.clients, options.throughput_seconds
            )
            own_after = time.process_time()
            after = await deployment.cpu_seconds()
    load.report(outcome)
    runs = max(load.runs, 1)
    for name, seconds in after.items():
        outcome.add(
            f"cpu_ms.{name}",
            f"CPU per execution: {name}",
            (seconds - before[name]) * 1000 / runs,
            "ms",
        )
    outcome.add(
        "cpu_ms.bench client",
        "CPU per execution: bench client",
        (own_after - own_before) * 1000 / runs,
        "ms",
    )
    await check_persisted(deployment, load, _NODES_PER_RUN, outcome)
    return outcome


def throughput(deployment: Deployment, options: Options) -> Outcome:
    return asyncio.run(_measure(deployment, options))
