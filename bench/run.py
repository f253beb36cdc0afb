"""Portico benchmarks. `python -m bench.run [chain|parallel|throughput|all]` prints the figures.

- chain:      a chain of 40 trivial transform nodes; per-node overhead p50/p99 (target p50 ≤ 5 ms)
- parallel:   20 parallel 100 ms waits joined by a merge; makespan (target ≤ 250 ms)
- throughput: trigger → 1 node, 32 concurrent clients; runs per second
- webhook:    webhook → 1 node → `respond: wait` answer, 32 concurrent clients; requests per
              second and p50/p99 latency, beside the same clients doing manual runs that are
              followed to their end over the WebSocket (the `throughput` path) in the same run
- credential: a chain of 20 http POSTs to a local server, with and without an http_bearer
              credential (resolved with its grant, audited, per node run); per-node p50 of
              both, in the same run, and their ratio
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.client import Portico, receive
from bench.harness import percentile, running_stack, signed_up, ts
from bench.side_effects import SideEffectServer


def chain_graph(length: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "trigger.manual"}]
    edges = []
    previous = "start"
    for index in range(length):
        node_id = f"n{index}"
        nodes.append({"id": node_id, "type": "transform", "config": {"mapping": {"i": index}}})
        edges.append({"source": previous, "target": node_id})
        previous = node_id
    return {"name": f"chain of {length}", "nodes": nodes, "edges": edges}


def fan_out_graph(width: int, seconds: float) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "trigger.manual"},
        {"id": "join", "type": "merge"},
    ]
    edges = []
    for index in range(width):
        nodes.append({"id": f"w{index}", "type": "wait", "config": {"seconds": seconds}})
        edges += [
            {"source": "start", "target": f"w{index}"},
            {"source": f"w{index}", "target": "join"},
        ]
    return {"name": "fan out", "nodes": nodes, "edges": edges}


async def _chain_runs(
    client: Portico, workflow_id: str, runs: int, length: int
) -> tuple[list[float], list[float]]:
    """Per-node hops (ms, finish to finish along the chain `start`, `n0`, `n1`…) and whole
    execution times (s) of `runs` executions."""
    hops: list[float] = []
    totals: list[float] = []
    for _ in range(runs):
        execution = await client.wait_finished(await client.run(workflow_id))
        assert execution["status"] == "succeeded", execution
        by_id = {run["node_id"]: run for run in execution["node_runs"]}
        previous = ts(by_id["start"]["finished_at"])
        for index in range(length):
            finished = ts(by_id[f"n{index}"]["finished_at"])
            hops.append((finished - previous).total_seconds() * 1000)
            previous = finished
        totals.append((ts(execution["finished_at"]) - ts(execution["started_at"])).total_seconds())
    return hops, totals


async def bench_chain(client: Portico, runs: int = 15, length: int = 40) -> dict[str, float]:
    workflow_id = await client.create_workflow(chain_graph(length))
    await client.wait_finished(await client.run(workflow_id))  # warm caches and connections
    hops, totals = await _chain_runs(client, workflow_id, runs, length)
    return {
        "per_node_p50_ms": percentile(hops, 50),
        "per_node_p99_ms": percentile(hops, 99),
        "chain_total_p50_ms": percentile(totals, 50) * 1000,
    }


async def bench_parallel(client: Portico, runs: int = 10) -> dict[str, float]:
    workflow_id = await client.create_workflow(fan_out_graph(20, 0.1))
    await client.wait_finished(await client.run(workflow_id))
    makespans: list[float] = []
    for _ in range(runs):
        execution = await client.wait_finished(await client.run(workflow_id))
        span = ts(execution["finished_at"]) - ts(execution["started_at"])
        makespans.append(span.total_seconds() * 1000)
    return {"makespan_p50_ms": percentile(makespans, 50), "makespan_max_ms": max(makespans)}


async def bench_throughput(
    client: Portico, clients: int = 32, seconds: float = 10.0
) -> dict[str, float]:
    graph = {
        "name": "one node",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "shape", "type": "transform", "config": {"mapping": {"v": "{{ trigger.v }}"}}},
        ],
        "edges": [{"source": "start", "target": "shape"}],
    }
    workflow_id = await client.create_workflow(graph)
    waiting: dict[str, asyncio.Future[None]] = {}
    early: set[str] = set()

    async with await client.ws() as ws:
        await ws.send(json.dumps({"type": "subscribe", "workflow_id": workflow_id}))
        await receive(ws)  # snapshot

        async def listen() -> None:
            while True:
                event = (await receive(ws, timeout_s=120))["event"]
                if event["type"] in ("execution.succeeded", "execution.failed"):
                    future = waiting.pop(event["execution_id"], None)
                    if future is None:
                        early.add(event["execution_id"])
                    else:
                        future.set_result(None)

        listener = asyncio.create_task(listen())
        done = 0
        deadline = time.monotonic() + seconds

        async def one_client(index: int) -> None:
            nonlocal done
            while time.monotonic() < deadline:
                execution_id = await client.run(workflow_id, {"v": index})
                if execution_id in early:
                    early.discard(execution_id)
                else:
                    future = asyncio.get_running_loop().create_future()
                    waiting[execution_id] = future
                    await asyncio.wait_for(future, 60)
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        elapsed = time.monotonic() - started
        listener.cancel()
    return {"runs_per_second": done / elapsed, "runs": done, "clients": clients}


async def _webhook_round_trips(
    client: Portico, path: str, clients: int, seconds: float
) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one_client(index: int) -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = await client.http.post(f"/hooks/{path}", json={"v": index})
            assert response.status_code == 200, response.text
            latencies.append((time.monotonic() - started) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return latencies, time.monotonic() - started


async def bench_webhook(
    client: Portico, clients: int = 32, seconds: float = 10.0
) -> dict[str, float]:
    path = f"bench-{int(time.time() * 1000)}"
    graph = {
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
    workflow_id = await client.create_workflow(graph)
    (await client.http.post(f"/api/workflows/{workflow_id}/activate")).raise_for_status()
    await _webhook_round_trips(client, path, 4, 1.0)  # warm up
    latencies, elapsed = await _webhook_round_trips(client, path, clients, seconds)
    reference = await bench_throughput(client, clients, seconds)
    rps = len(latencies) / elapsed
    return {
        "requests_per_second": rps,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "clients": clients,
        "manual_runs_per_second": reference["runs_per_second"],
        "ratio_to_manual_runs": rps / reference["runs_per_second"],
    }


def http_chain_graph(length: int, url: str, credential_id: str | None) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "trigger.manual"}]
    edges = []
    for index in range(length):
        node: dict[str, Any] = {
            "id": f"n{index}",
            "type": "http",
            "config": {
                "method": "POST",
                "url": url,
                "body_type": "json",
                "body": {"execution": "{{ execution.id }}", "node": f"n{index}"},
            },
        }
        if credential_id is not None:
            node["credential_id"] = credential_id
        nodes.append(node)
        edges.append({"source": "start" if index == 0 else f"n{index - 1}", "target": f"n{index}"})
    return {"name": "http chain", "nodes": nodes, "edges": edges}


async def bench_credential(client: Portico, runs: int = 10, length: int = 20) -> dict[str, float]:
    with SideEffectServer(latency_s=0.0) as server:
        plain = await client.create_workflow(http_chain_graph(length, server.url, None))
        credential_id = await client.create_credential(
            "bench token", "http_bearer", {"token": "bench-secret"}
        )
        sealed = await client.create_workflow(http_chain_graph(length, server.url, credential_id))
        for workflow_id in (plain, sealed):  # warm caches and connections
            await client.wait_finished(await client.run(workflow_id))
        # Interleaved, so both see the same machine.
        plain_hops: list[float] = []
        sealed_hops: list[float] = []
        for _ in range(runs):
            plain_hops += (await _chain_runs(client, plain, 1, length))[0]
            sealed_hops += (await _chain_runs(client, sealed, 1, length))[0]
    plain_p50, sealed_p50 = percentile(plain_hops, 50), percentile(sealed_hops, 50)
    return {
        "http_node_p50_ms": plain_p50,
        "http_node_with_credential_p50_ms": sealed_p50,
        "credential_overhead_p50_ms": sealed_p50 - plain_p50,
        "ratio": sealed_p50 / plain_p50,
    }


BENCHES: dict[str, Callable[[Portico], Awaitable[dict[str, float]]]] = {
    "chain": bench_chain,
    "parallel": bench_parallel,
    "throughput": bench_throughput,
    "webhook": bench_webhook,
    "credential": bench_credential,
}


async def _run(base_url: str, names: list[str]) -> None:
    async with signed_up(base_url) as client:
        for name in names:
            figures = await BENCHES[name](client)
            print(
                json.dumps({"bench": name, **{k: round(v, 2) for k, v in figures.items()}}),
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bench", nargs="?", default="all", choices=[*BENCHES, "all"])
    args = parser.parse_args()
    names = list(BENCHES) if args.bench == "all" else [args.bench]
    with running_stack() as stack:
        asyncio.run(_run(stack.base_url, names))


if __name__ == "__main__":
    main()
