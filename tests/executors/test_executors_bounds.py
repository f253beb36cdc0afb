"""Bounds of one node run through ExecutorService: templates and JSONata past a sandbox
limit, and outputs past `max_output_bytes`, each fail their node with the limit and the
setting that raises it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from portico_executors.app import sandbox_pool
from portico_executors.http_guard import HostPolicy, guarded_client
from portico_executors.service import ExecutorService

from .support import executor_settings, make_ready

BOUNDED = executor_settings(
    "amqp://unused/",
    template_timeout_s=0.5,
    jsonata_timeout_ms=300,
    sandbox_memory_mb=256,
    max_rendered_bytes=2 * 1024 * 1024,
    max_output_bytes=2 * 1024 * 1024,
)


@pytest.fixture(scope="module")
async def bounded() -> AsyncIterator[ExecutorService]:
    async with (
        guarded_client(HostPolicy(BOUNDED.http_allow_hosts), "portico-test") as http,
        sandbox_pool(BOUNDED) as pool,
    ):
        yield ExecutorService(BOUNDED, http, pool)


# Each passes the cheap in-template guards; only the sandbox process stops it.
CPU_BOMB = "{{ ([[1] * 100] * 100000) | sum(start=[]) | length }}"
MEMORY_BOMB = "{{ '%999999999s' | format('x') }}"


@pytest.mark.parametrize(
    ("template", "limit", "setting"),
    [
        (CPU_BOMB, "time", "PORTICO_TEMPLATE_TIMEOUT_S"),
        (MEMORY_BOMB, "memory", "PORTICO_SANDBOX_MEMORY_MB"),
        (
            "{{ ['x' * 999999, 'y' * 999999, 'z' * 999999] }}",
            "output",
            "PORTICO_MAX_RENDERED_BYTES",
        ),
    ],
)
async def test_template_past_a_sandbox_limit_fails_the_node(
    bounded: ExecutorService, template: str, limit: str, setting: str
) -> None:
    started = time.monotonic()
    result = await bounded.execute(make_ready("transform", {"mapping": {"v": template}}))
    assert time.monotonic() - started < 2.5
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("TemplateLimit", False)
    assert result.error.message.startswith("rendering the node's templates ")
    assert setting in result.error.message
    assert result.error.details == {"limit": limit, "setting": setting}


@pytest.mark.parametrize(
    ("expression", "limit", "setting"),
    [
        ("$sum([1..10000000])", "time", "PORTICO_JSONATA_TIMEOUT_MS"),
        ('$pad("x", 1000000000)', "memory", "PORTICO_SANDBOX_MEMORY_MB"),
    ],
)
async def test_jsonata_past_a_sandbox_limit_fails_the_node(
    bounded: ExecutorService, expression: str, limit: str, setting: str
) -> None:
    started = time.monotonic()
    result = await bounded.execute(make_ready("transform", {"expression": expression}))
    assert time.monotonic() - started < 2.5
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("JsonataLimit", False)
    assert setting in result.error.message
    assert result.error.details == {"limit": limit, "setting": setting}


async def test_configs_without_templates_never_reach_the_sandbox(http_base: str) -> None:
    settings = executor_settings("amqp://unused/")
    async with guarded_client(HostPolicy(settings.http_allow_hosts), "portico-test") as http:
        service = ExecutorService(settings, http, None)  # type: ignore[arg-type]
        merged = await service.execute(make_ready("merge", {"mode": "list"}, inputs={"a": 1}))
        fetched = await service.execute(make_ready("http", {"url": http_base + "/text"}))
    assert (merged.status, merged.output) == ("succeeded", [1])
    assert (fetched.status, fetched.output["body"]) == ("succeeded", "hello, world")


async def test_output_over_the_limit_fails_the_node(bounded: ExecutorService) -> None:
    inputs = {"a": "x" * 1_100_000, "b": "y" * 1_100_000}
    result, body = await bounded.execute_encoded(make_ready("merge", {}, inputs=inputs))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("OutputTooLarge", False)
    size = len(json.dumps(inputs, separators=(",", ":")))
    limit = 2 * 1024 * 1024
    assert result.error.details == {
        "size": size,
        "limit": limit,
        "setting": "PORTICO_MAX_OUTPUT_BYTES",
    }
    assert f"{size} bytes" in result.error.message
    assert f"{limit} bytes (PORTICO_MAX_OUTPUT_BYTES)" in result.error.message
    assert result.output is None
    assert json.loads(body)["error"]["type"] == "OutputTooLarge"
    fits, _ = await bounded.execute_encoded(make_ready("merge", {}, inputs={"a": inputs["a"]}))
    assert fits.status == "succeeded"


def test_response_limit_follows_the_output_limit() -> None:
    assert executor_settings("amqp://x/", max_output_bytes=5000).http_response_limit == 5000
    assert executor_settings("amqp://x/").http_response_limit == 8 * 1024 * 1024
    explicit = executor_settings("amqp://x/", http_max_response_bytes=4096)
    assert explicit.http_response_limit == 4096
