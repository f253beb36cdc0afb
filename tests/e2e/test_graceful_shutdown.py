"""SIGTERM: each service stops taking work, finishes or hands back what it holds, and exits
within its grace period; the work carries on when it is back."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.e2e.client import Portico, node_runs
from tests.harness.cluster import LocalCluster

pytestmark = pytest.mark.crash

GRACE_S = 20.0  # each service's own grace is 15 s; a little slack for start-up noise


def _graph() -> dict[str, object]:
    return {
        "name": "wait then map",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "pause", "type": "wait", "config": {"seconds": 1.0}},
            {"id": "map", "type": "transform", "config": {"mapping": {"k": "{{ trigger.k }}"}}},
        ],
        "edges": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "map"}],
    }


def _terminate(cluster: LocalCluster, service: str) -> tuple[int, float]:
    process = cluster.processes.pop(service)
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=GRACE_S + 10)
    return code, time.monotonic() - began


@pytest.mark.parametrize("service", ["executors", "orchestrator", "gateway"])
async def test_sigterm_drains_and_loses_nothing(
    cluster: LocalCluster, user: Portico, service: str
) -> None:
    workflow_id = await user.create_workflow(_graph())
    execution_ids = await asyncio.gather(*(user.run(workflow_id, {"k": i}) for i in range(20)))
    await asyncio.sleep(0.4)  # every execution is inside its wait now
    code, took = await asyncio.to_thread(_terminate, cluster, service)
    # uvicorn re-raises the signal once it has shut down cleanly, as a well-behaved
    # process does; the log says whether the shutdown ran to its end.
    assert code in (0, -signal.SIGTERM), f"{service} exited with {code}"
    assert took < GRACE_S, f"{service} took {took:.1f} s to stop"
    if service == "gateway":
        log = (cluster.log_dir / "gateway.log").read_text()
        assert "Application shutdown complete" in log
    cluster.start(service)
    cluster.wait_ready()
    finished = await asyncio.gather(*(user.wait_finished(e, timeout_s=60) for e in execution_ids))
    for index, execution in enumerate(finished):
        assert execution["status"] == "succeeded", execution
        runs = node_runs(execution)
        assert runs["map"]["output"] == {"k": index}
        assert runs["pause"]["attempt"] == 1  # handed back and resumed, not failed and retried
