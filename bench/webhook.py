"""Webhook: webhook → 1 node → `respond: wait` answer, `clients` concurrent clients; requests per
second and latency, beside manual runs followed over the WebSocket (the throughput workload's
path) in the same run.
"""

from __future__ import annotations

import asyncio
import time

from bench import graphs
from bench.client import Portico
from bench.follow import following
from bench.harness import Deployment, signed_up
from bench.load import closed_loop
from bench.options import Options
from bench.report import Outcome
from bench.stats import percentile


def _graph(path: str) -> graphs.Graph:
    return {
        "name": "webhook answer",
        "nodes": [
            {
                "id": "hook",
                "type": "trigger.webhook",
                "config": {"path": path, "respond": "wait", "response_node": "shape"},
            },
            {
                "id": "shape",
                "type": "transform",
                "config": {"mapping": {"v": "{{ trigger.body.v }}"}},
            },
        ],
        "edges": [{"source": "hook", "target": "shape"}],
    }


async def _round_trips(
    client: Portico, path: str, clients: int, seconds: float
) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one_client(index: int) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.http.post(f"/hooks/{path}", json={"v": index})
            assert response.status_code == 200, response.text
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return latencies, time.monotonic() - started


async def _measure(deployment: Deployment, options: Options) -> Outcome:
    outcome = Outcome("webhook", f"Webhook → 1 node → answer, {options.clients} clients")
    path = f"bench-{int(time.time() * 1000)}"
    async with signed_up(deployment.base_url) as client:
        workflow_id = await client.create_workflow(_graph(path))
        (await client.http.post(f"/api/workflows/{workflow_id}/activate")).raise_for_status()
        await _round_trips(client, path, 4, 1.0)  # warm up
        latencies, elapsed = await _round_trips(
            client, path, options.clients, options.webhook_seconds
        )
        manual = await client.create_workflow(graphs.one_node())
        async with following(client, manual) as follower:
            reference = await closed_loop(
                client, follower, manual, options.clients, options.webhook_seconds
            )
    rps = len(latencies) / elapsed
    outcome.add("requests_per_s", "webhook requests per second", rps, "req/s")
    outcome.add("p50_ms", "webhook latency p50", percentile(latencies, 50), "ms")
    outcome.add("p99_ms", "webhook latency p99", percentile(latencies, 99), "ms")
    outcome.add(
        "manual_runs_per_s", "manual runs per second (same clients)", reference.runs_per_s, "runs/s"
    )
    outcome.add("ratio_to_manual", "webhook / manual", rps / reference.runs_per_s, "x")
    return outcome


def webhook(deployment: Deployment, options: Options) -> Outcome:
    return asyncio.run(_measure(deployment, options))
