"""The load of a chaos run: mixed workflows whose http nodes are side effects, and a client that
behaves as a good one would while a dependency is down — it retries after `Retry-After` — and
counts every answer it should not have had.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from bench.client import Portico

# Answers a client must be able to rely on while a dependency restarts.
_PATIENT = {429, 503}


@dataclass(frozen=True)
class Workflow:
    graph: dict[str, Any]
    effects: tuple[str, ...]  # the http nodes: each must take effect once per execution


# Every node gets a timeout: the orchestrator's watchdog takes a node dispatched longer ago than
# its timeout (plus a grace) as lost and sends it again; without one its default deadline is
# minutes, longer than a phase waits.
_TIMEOUT_S = 10


def _node(node_id: str, node_type: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "timeout_s": _TIMEOUT_S, "config": config}


def _effect(node_id: str, url: str) -> dict[str, Any]:
    body = {"execution": "{{ execution.id }}", "node": node_id}
    return _node(node_id, "http", {"method": "POST", "url": url, "body_type": "json", "body": body})


def _shape(source: str) -> dict[str, Any]:
    return _node("shape", "transform", {"mapping": {"from": source, "at": "{{ execution.id }}"}})


def _wait(node_id: str, seconds: float) -> dict[str, Any]:
    return _node(node_id, "wait", {"seconds": seconds})


def _chain(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    ids = ["start", *(node["id"] for node in nodes)]
    edges = [{"source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {
        "name": name,
        "nodes": [{"id": "start", "type": "trigger.manual"}, *nodes],
        "edges": edges,
    }


def workflows(url: str) -> list[Workflow]:
    """Side effect → short wait → side effect → transform; fan-out to three side effects →
    merge → transform; a longer wait first, then a side effect."""
    effect_wait_effect = _chain(
        "effect, wait, effect",
        [_effect("pay", url), _wait("pause", 0.3), _effect("ship", url), _shape("ship")],
    )
    fan_out = {
        "name": "fan out and merge",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            *(_effect(branch, url) for branch in ("a", "b", "c")),
            _node("join", "merge", {}),
            _shape("join"),
        ],
        "edges": [
            *({"source": "start", "target": branch} for branch in ("a", "b", "c")),
            *({"source": branch, "target": "join"} for branch in ("a", "b", "c")),
            {"source": "join", "target": "shape"},
        ],
    }
    wait_first = _chain(
        "wait, then effect", [_wait("hold", 1.0), _effect("notify", url), _shape("notify")]
    )
    return [
        Workflow(effect_wait_effect, ("pay", "ship")),
        Workflow(fan_out, ("a", "b", "c")),
        Workflow(wait_first, ("notify",)),
    ]


@dataclass
class Tally:
    """Every answer to one kind of request, good or bad."""

    ok: int = 0
    unavailable: int = (
        0  # 503 or 429 with Retry-After: the promised answer while a dependency is down
    )
    failures: Counter[str] = field(default_factory=Counter)  # 500, reset, refused, …

    def count(self, problem: str) -> None:
        self.failures[problem] += 1

    def merge(self, other: Tally) -> None:
        self.ok += other.ok
        self.unavailable += other.unavailable
        self.failures.update(other.failures)


Kind = Literal["runs", "reads"]


class GaveUpError(RuntimeError):
    pass


def _problem(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "reset"  # ReadError, WriteError, RemoteProtocolError: the connection broke


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), 10.0)
    except (KeyError, ValueError):
        return None


class PatientClient:
    """A signed-up user's requests, retried whenever the answer says so (503 or 429 with
    Retry-After) or the connection fails, until a run has waited `run_patience_s` (a run must get
    in eventually) or a read `read_patience_s`; every answer is tallied by kind."""

    def __init__(
        self, portico: Portico, run_patience_s: float = 120.0, read_patience_s: float = 20.0
    ) -> None:
        self.portico = portico
        self.patience_s = {"runs": run_patience_s, "reads": read_patience_s}
        # A fresh connection per request: on a reused idle one the server's keep-alive timeout
        # can close it just as a request goes out, and that broken connection would be counted
        # against the server.
        self.http = httpx.AsyncClient(
            base_url=portico.base_url,
            cookies=portico.http.cookies,
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=30,
        )
        self.runs = Tally()
        self.reads = Tally()

    async def send(self, kind: Kind, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """`kind` is "runs" or "reads": which tally counts the answers, how long to insist."""
        tally = self.runs if kind == "runs" else self.reads
        deadline = time.monotonic() + self.patience_s[kind]
        while time.monotonic() < deadline:
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                tally.count(_problem(exc))
                await asyncio.sleep(0.5)
                continue
            pause = _retry_after(response)
            if response.status_code in _PATIENT and pause is not None:
                tally.unavailable += 1
                await asyncio.sleep(pause)
                continue
            if response.status_code >= 500:
                tally.count(f"{response.status_code}")
                await asyncio.sleep(0.5)
                continue
            tally.ok += 1
            return response
        raise GaveUpError(f"{method} {url}: no usable answer in {self.patience_s[kind]}s")

    async def close(self) -> None:
        await self.http.aclose()
        await self.portico.close()

    async def run(self, workflow_id: str, payload: dict[str, Any]) -> str:
        # One key for every try of this run, so a retry after a broken connection cannot start
        # a second execution.
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        url = f"/api/workflows/{workflow_id}/run"
        response = await self.send("runs", "POST", url, json={"payload": payload}, headers=headers)
        if response.status_code != 202:
            self.runs.count(f"{response.status_code}")
            raise GaveUpError(f"run refused: {response.status_code} {response.text[:200]}")
        execution_id: str = response.json()["execution_id"]
        return execution_id

    async def statuses(self, workflow_id: str) -> dict[str, str]:
        """Every execution of the workflow and its status, page by page."""
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            params = {
                "workflow_id": workflow_id,
                "limit": 200,
                **({"cursor": cursor} if cursor else {}),
            }
            page = (await self.send("reads", "GET", "/api/executions", params=params)).json()
            found.update((item["id"], item["status"]) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    async def execution(self, execution_id: str) -> dict[str, Any] | None:
        """The execution with its node runs; None when the API does not know it."""
        response = await self.send("reads", "GET", f"/api/executions/{execution_id}")
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()
        return body
