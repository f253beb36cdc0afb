"""Memory: each service's RSS (its process tree) at idle — right after the stack started, before
any workload — after a warm-up under steady load, and at the end of `soak_minutes` of it. Growth
after warm-up is what a leak looks like; the warm-up itself (caches, pools, imports) is not.
"""

from __future__ import annotations

import asyncio
import sys

from bench import graphs
from bench.follow import following
from bench.harness import Deployment, signed_up
from bench.load import check_persisted, closed_loop
from bench.options import Options
from bench.report import Outcome

_MB = 1024 * 1024
_NODES_PER_RUN = 2


async def _soak(deployment: Deployment, options: Options) -> Outcome:
    seconds = options.soak_minutes * 60
    warm_up = min(60.0, seconds / 5)
    outcome = Outcome(
        "memory",
        f"Memory: RSS per service, {options.soak_minutes:g} min of steady load "
        f"(trigger → 1 node, {options.soak_clients} clients), warm-up {warm_up:.0f} s",
    )
    async with signed_up(deployment.base_url) as client:
        workflow_id = await client.create_workflow(graphs.one_node())
        async with following(client, workflow_id) as follower:
            running = asyncio.create_task(
                closed_loop(client, follower, workflow_id, options.soak_clients, seconds)
            )
            await asyncio.sleep(warm_up)
            warm = deployment.rss()
            print(f"bench: memory soak warmed up, RSS MB {_mb(warm)}", file=sys.stderr, flush=True)
            load = await running
    end = deployment.rss()
    growths = []
    for service, idle in deployment.idle_rss.items():
        outcome.add(f"{service}.idle_mb", f"{service}: idle", idle / _MB, "MB")
        outcome.add(f"{service}.warm_mb", f"{service}: after warm-up", warm[service] / _MB, "MB")
        outcome.add(f"{service}.end_mb", f"{service}: at the end", end[service] / _MB, "MB")
        growth = end[service] - warm[service]
        outcome.add(f"{service}.growth_mb", f"{service}: growth after warm-up", growth / _MB, "MB")
        growths.append(100 * growth / warm[service] if warm[service] else 0.0)
    outcome.add("worst_growth_pct", "largest growth after warm-up", max(growths), "%")
    outcome.add("runs_per_s", "steady load, runs per second", load.runs_per_s, "runs/s")
    await check_persisted(deployment, load, _NODES_PER_RUN, outcome)
    return outcome


def _mb(rss: dict[str, int]) -> str:
    return ", ".join(f"{service} {value / _MB:.0f}" for service, value in rss.items())


def memory(deployment: Deployment, options: Options) -> Outcome:
    return asyncio.run(_soak(deployment, options))
