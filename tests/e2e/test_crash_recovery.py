"""kill -9 a service with work in flight: when it comes back, nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from typing import Any

import pytest

from tests.e2e.client import Portico, node_runs, receive
from tests.harness.cluster import LocalCluster

pytestmark = pytest.mark.crash

EXECUTIONS = 50


def ten_node_chain(wait_s: float, wait_position: int) -> dict[str, Any]:
    """trigger → 8 transforms with one wait among them: 10 nodes in a chain."""
    ids = ["start"] + [f"n{i}" for i in range(1, 10)]
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "trigger.manual"}]
    for index, node_id in enumerate(ids[1:], start=1):
        if index == wait_position:
            nodes.append({"id": node_id, "type": "wait", "config": {"seconds": wait_s}})
        else:
            nodes.append(
                {
                    "id": node_id,
                    "type": "transform",
                    "config": {"mapping": {"step": index, "seen": "{{ trigger.k }}"}},
                }
            )
    edges = [{"source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {"name": "ten node chain", "nodes": nodes, "edges": edges}


async def _run_many(user: Portico, graph: dict[str, Any]) -> list[str]:
    workflow_id = await user.create_workflow(graph)
    return list(
        await asyncio.gather(*(user.run(workflow_id, {"k": index}) for index in range(EXECUTIONS)))
    )


async def _terminal_events_per_node(user: Portico, execution_id: str) -> Counter[str]:
    """Replay the whole event log and count each node's terminal events."""
    counts: Counter[str] = Counter()
    async with await user.ws() as ws:
        await ws.send(
            json.dumps({"type": "subscribe", "execution_id": execution_id, "after_seq": 0})
        )
        while True:
            event = (await receive(ws))["event"]
            if event["type"] in ("node.succeeded", "node.failed", "node.skipped"):
                counts[event["node_id"]] += 1
            if event["type"] == "execution.succeeded":
                return counts


async def _assert_all_succeeded_exactly_once(user: Portico, execution_ids: list[str]) -> None:
    finished = await asyncio.gather(
        *(user.wait_finished(execution_id, timeout_s=120) for execution_id in execution_ids)
    )
    for execution in finished:
        assert execution["status"] == "succeeded", execution
        runs = execution["node_runs"]
        assert len(runs) == 10, runs
        assert len({run["node_id"] for run in runs}) == 10
        assert all(run["status"] == "succeeded" for run in runs)
        assert node_runs(execution)["n9"]["output"]["seen"] == execution["payload"]["k"]
    for execution_id in execution_ids[:10]:
        counts = await _terminal_events_per_node(user, execution_id)
        assert set(counts.values()) == {1}, counts
        assert len(counts) == 10


async def test_orchestrator_killed_mid_flight(cluster: LocalCluster, user: Portico) -> None:
    execution_ids = await _run_many(user, ten_node_chain(wait_s=0.5, wait_position=4))
    await asyncio.sleep(0.3)
    cluster.kill("orchestrator")
    await asyncio.sleep(1.0)  # results pile up in the broker while it is down
    cluster.start("orchestrator")
    await _assert_all_succeeded_exactly_once(user, execution_ids)


async def test_executor_killed_mid_node(cluster: LocalCluster, user: Portico) -> None:
    execution_ids = await _run_many(user, ten_node_chain(wait_s=1.5, wait_position=2))
    await asyncio.sleep(0.8)  # every execution is now inside its wait node
    cluster.kill("executors")
    await asyncio.sleep(0.5)
    cluster.start("executors")
    await _assert_all_succeeded_exactly_once(user, execution_ids)
    for execution_id in execution_ids[:5]:
        wait_run = node_runs(await user.execution(execution_id))["n2"]
        assert wait_run["attempt"] == 1  # a redelivery is the same attempt, not a retry
