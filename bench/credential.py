"""Credential: a chain of 20 http POSTs to a local server, with and without an http_bearer
credential (resolved with its grant, audited, per node run); per-node p50 of both, interleaved
in the same run so both see the same machine, and their ratio.
"""

from __future__ import annotations

import asyncio

from bench import graphs
from bench.follow import following
from bench.harness import Deployment, signed_up
from bench.options import Options
from bench.report import Outcome
from bench.side_effects import SideEffectServer
from bench.stats import percentile

_LENGTH = 20


async def _measure(deployment: Deployment, options: Options) -> Outcome:
    chain_ids = ["start", *(f"n{i}" for i in range(_LENGTH))]
    hops: dict[str, list[float]] = {"plain": [], "sealed": []}
    with SideEffectServer(latency_s=0.0) as server:
        async with signed_up(deployment.base_url) as client:
            credential_id = await client.create_credential(
                "bench token", "http_bearer", {"token": "bench-secret"}
            )
            workflows = {
                "plain": await client.create_workflow(graphs.http_chain(_LENGTH, server.url, None)),
                "sealed": await client.create_workflow(
                    graphs.http_chain(_LENGTH, server.url, credential_id)
                ),
            }
            async with (
                following(client, workflows["plain"]) as plain_follower,
                following(client, workflows["sealed"]) as sealed_follower,
            ):
                followers = {"plain": plain_follower, "sealed": sealed_follower}
                for run in range(options.credential_runs + 1):  # the first warms up
                    for kind, workflow_id in workflows.items():
                        trace = await followers[kind].finished(await client.run(workflow_id))
                        assert trace.succeeded, f"{kind} http chain failed"
                        if run:
                            hops[kind] += trace.hops_ms(chain_ids)
    plain, sealed = percentile(hops["plain"], 50), percentile(hops["sealed"], 50)
    outcome = Outcome("credential", f"Credential: chain of {_LENGTH} http nodes, with and without")
    outcome.add("http_node_p50_ms", "http node p50", plain, "ms")
    outcome.add("http_node_with_credential_p50_ms", "http node with credential p50", sealed, "ms")
    outcome.add("overhead_p50_ms", "credential overhead p50", sealed - plain, "ms")
    outcome.add("ratio", "with / without", sealed / plain, "x")
    return outcome


def credential(deployment: Deployment, options: Options) -> Outcome:
    return asyncio.run(_measure(deployment, options))
