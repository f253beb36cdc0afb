"""Abuse over the broker: template and JSONata bombs fail their own node within the limits,
while trivial nodes on the same executor keep finishing fast and the executor stays healthy.

Each bomb below once pinned an executor's CPU or took gigabytes: they rendered in the event
loop, before the node's timeout started, so every other tenant's nodes waited behind them.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portico_contracts.messages import NodeResult
from portico_executors.app import Runtime, running

from .support import NodeClient, executor_settings, make_ready

TEMPLATE_LIMIT_S = 1.0
JSONATA_LIMIT_MS = 1000
# How late past its limit a bomb's failure may arrive (kill, reply, publish, a busy machine).
SLACK_S = 1.5
TRIVIAL_WITHIN_S = 1.0
ITEMS = list(range(2000))

TEMPLATE_BOMBS = {
    "nested loops": (
        "{% for a in trigger.items %}{% for b in trigger.items %}{{ a }}{% endfor %}{% endfor %}"
    ),
    "power tower": "{{ (9**9999)**9999 }}",
    "big power": "{{ (9**9999)**300 }}",
    "repeat": "{{ ('x' * 10**6) * 1000 }}",
    "join": "{{ (['x' * 999999] * 999999) | join }}",
    "replace": "{{ ('x' * 999999) | replace('x', 'x' * 999999) }}",
    "format": "{{ '%999999999s' | format('x') }}",
    "concat": "{% for i in trigger.items %}{{ ('x' * 999999) ~ ('x' * 999999) }}{% endfor %}",
    "plus": "{{ ('x' * 999999) + ('x' * 999999) }}",
    "sum of lists": "{{ ([[1] * 100] * 100000) | sum(start=[]) | length }}",
    "center": "{{ 'x' | center(999999999) }}",
}
JSONATA_BOMBS = {
    "range": "$sum([1..10000000])",
    "pad": '$pad("x", 1000000000)',
    "recursion": "($f := function($n) { $f($n + 1) }; $f(0))",
}
BOUND_ERRORS = {"TemplateError", "TemplateLimit", "JsonataError", "JsonataLimit"}


def bombs() -> list[tuple[str, dict[str, Any], float]]:
    """(name, transform config, seconds its failure may take)."""
    found = [
        (name, {"mapping": {"value": source}}, TEMPLATE_LIMIT_S + SLACK_S)
        for name, source in TEMPLATE_BOMBS.items()
    ]
    found += [
        (name, {"expression": expression}, JSONATA_LIMIT_MS / 1000 + SLACK_S)
        for name, expression in JSONATA_BOMBS.items()
    ]
    return found


@pytest.fixture(scope="module")
async def executor(amqp_url: str, node_client: NodeClient) -> AsyncIterator[Runtime]:
    settings = executor_settings(
        amqp_url,
        types=("transform", "merge"),
        template_timeout_s=TEMPLATE_LIMIT_S,
        jsonata_timeout_ms=JSONATA_LIMIT_MS,
    )
    async with running(settings) as runtime:
        yield runtime


async def timed(future: asyncio.Future[NodeResult], started: float) -> tuple[NodeResult, float]:
    result = await asyncio.wait_for(future, 30)
    return result, time.monotonic() - started


def trivial_nodes(n: int) -> list[Any]:
    """A templated node (it needs a sandbox worker) and one without templates, n times."""
    nodes = []
    for i in range(n):
        nodes.append(
            make_ready("transform", {"mapping": {"n": "{{ trigger.n + 1 }}"}}, trigger={"n": i})
        )
        nodes.append(make_ready("merge", {}, inputs={"a": i}))
    return nodes


async def run_alongside(
    node_client: NodeClient, config: dict[str, Any]
) -> tuple[tuple[NodeResult, float], list[tuple[NodeResult, float]]]:
    started = time.monotonic()
    bomb = await node_client.publish(make_ready("transform", config, trigger={"items": ITEMS}))
    await asyncio.sleep(0.1)  # the bomb is running by now
    others = []
    for ready in trivial_nodes(3):
        others.append(
            asyncio.create_task(timed(await node_client.publish(ready), time.monotonic()))
        )
    return await timed(bomb, started), [await task for task in others]


@pytest.mark.parametrize(("name", "config", "within_s"), bombs(), ids=[b[0] for b in bombs()])
async def test_bomb_fails_its_node_while_trivial_nodes_stay_fast(
    executor: Runtime, node_client: NodeClient, name: str, config: dict[str, Any], within_s: float
) -> None:
    (bomb, bomb_s), trivial = await run_alongside(node_client, config)
    assert bomb.status == "failed", f"{name}: {bomb.output!r}"[:300]
    assert bomb.error is not None
    assert bomb.error.type in BOUND_ERRORS, bomb.error
    assert bomb.error.retryable is False
    assert bomb_s < within_s, (name, bomb_s, bomb.error)
    for result, took in trivial:
        assert result.status == "succeeded", result.error
        assert took < TRIVIAL_WITHIN_S, (name, took)


async def test_all_bombs_at_once_leave_the_executor_healthy(
    executor: Runtime, node_client: NodeClient
) -> None:
    started = time.monotonic()
    futures = [
        await node_client.publish(make_ready("transform", config, trigger={"items": ITEMS}))
        for _, config, _ in bombs()
    ]
    # Nodes without templates never wait for the sandbox, however busy it is.
    plain = [
        asyncio.create_task(
            timed(
                await node_client.publish(make_ready("merge", {}, inputs={"a": i})),
                time.monotonic(),
            )
        )
        for i in range(5)
    ]
    for result, took in [await task for task in plain]:
        assert result.status == "succeeded"
        assert took < TRIVIAL_WITHIN_S
    results = await asyncio.wait_for(asyncio.gather(*futures), 60)
    assert all(r.status == "failed" and r.error and r.error.type in BOUND_ERRORS for r in results)
    # Two workers, each bomb bounded: the slowest waits for its turn, no longer.
    assert time.monotonic() - started < len(results) / 2 * (TEMPLATE_LIMIT_S + SLACK_S)
    # Healthy afterwards: the workers that were killed are back, the loop never held a bomb.
    after = [await node_client.publish(ready) for ready in trivial_nodes(4)]
    done = await asyncio.wait_for(asyncio.gather(*after), 5)
    assert all(result.status == "succeeded" for result in done)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mib < 1024, f"this process peaked at {peak_mib:.0f} MiB"
