"""Closed-loop load: `clients` tasks each run a workflow and wait for its terminal event on the
WebSocket before running it again. Afterwards the database says whether every execution and
every node run was persisted and whether every status event reached the client.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.client import Portico
from bench.follow import Follower, Trace
from bench.harness import Deployment
from bench.report import Outcome
from bench.stats import percentile


@dataclass
class Load:
    runs: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    # Per execution: how many events arrived, if they came once each and in seq order.
    delivered: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0
    failed: int = 0

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.elapsed_s if self.elapsed_s else 0.0

    def record(self, trace: Trace, latency_ms: float) -> None:
        self.runs += 1
        self.latencies_ms.append(latency_ms)
        self.delivered[trace.execution_id] = len(trace.events)
        self.out_of_order += not trace.gapless()
        self.failed += not trace.succeeded

    def report(self, outcome: Outcome) -> None:
        outcome.add("runs_per_s", "runs per second", self.runs_per_s, "runs/s")
        outcome.add("runs", "runs", self.runs)
        outcome.add(
            "latency_p50_ms",
            "run latency p50 (request → terminal event)",
            percentile(self.latencies_ms, 50),
            "ms",
        )
        outcome.add("latency_p99_ms", "run latency p99", percentile(self.latencies_ms, 99), "ms")


async def closed_loop(
    client: Portico, follower: Follower, workflow_id: str, clients: int, seconds: float
) -> Load:
    load = Load()
    deadline = time.monotonic() + seconds

    async def one_client(index: int) -> None:
        while time.monotonic() < deadline:
            sent = time.perf_counter()
            trace = await follower.finished(await client.run(workflow_id, {"v": index}))
            load.record(trace, (trace.terminal.received - sent) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(one_client(index) for index in range(clients)))
    load.elapsed_s = time.monotonic() - started
    return load


_PERSISTED = """
SELECT e.id, e.status, e.last_seq,
       count(r.node_id) FILTER (WHERE r.status = 'succeeded') AS nodes_succeeded
FROM orchestrator.executions e
LEFT JOIN orchestrator.node_runs r ON r.execution_id = e.id
WHERE e.id = ANY($1::text[])
GROUP BY e.id
"""


async def check_persisted(
    deployment: Deployment, load: Load, nodes_per_run: int, outcome: Outcome
) -> None:
    """Every execution succeeded with all its node runs stored, and the client got every one of
    its status events (as many as the execution's last seq, once each, in order)."""
    db = await deployment.database()
    try:
        rows = await db.fetch(_PERSISTED, list(load.delivered))
    finally:
        await db.close()
    succeeded = sum(row["status"] == "succeeded" for row in rows)
    node_runs = sum(row["nodes_succeeded"] for row in rows)
    events = sum(row["last_seq"] for row in rows)
    got = sum(min(load.delivered[row["id"]], row["last_seq"]) for row in rows)
    runs = len(load.delivered)
    outcome.check(f"executions succeeded in the database: {succeeded} of {runs}", succeeded == runs)
    expected = runs * nodes_per_run
    outcome.check(f"node runs persisted: {node_runs} of {expected}", node_runs == expected)
    outcome.check(
        f"status events delivered over the WebSocket: {got} of {events}, "
        f"{load.out_of_order} executions out of order",
        got == events and load.out_of_order == 0 and load.failed == 0,
    )
