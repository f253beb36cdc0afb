"""Configs whose templates are all plain lookups render here, not in a sandbox worker, and
end exactly as they would have in one: same config, same errors, same output bound."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portico_contracts.nodes import NODE_TYPES
from portico_executors.errors import NodeRunError
from portico_executors.nodes.condition import prepare_condition
from portico_executors.rendering import RenderWork, prepare_config, rendering_work
from portico_executors.sandbox import SandboxLimitError, SandboxLimits, SandboxPool
from portico_executors.service import ExecutorService, result_message_id

from .support import executor_settings, make_ready

LIMIT = 64 * 1024
TRANSFORM = NODE_TYPES["transform"].config_model
CONDITION = NODE_TYPES["condition"].config_model
CONTEXT = {
    "trigger": {"v": 42, "items": [1, {"k": "x"}], "big": "x" * (LIMIT + 1), "text": "abc"},
    "nodes": {"fetch": {"output": {"status": 200}}},
    "execution": {"id": "e1"},
    "input": {},
}


class CountingPool(SandboxPool):
    """A real pool that counts the jobs sent to its workers."""

    def __init__(self, size: int, limits: SandboxLimits) -> None:
        super().__init__(size, limits)
        self.jobs = 0

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        self.jobs += 1
        return await super().run(*args, **kwargs)


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[CountingPool]:
    started = CountingPool(1, SandboxLimits(256 * 1024 * 1024, LIMIT))
    await started.start()
    yield started
    await started.stop()


async def outcome(run: Any) -> tuple[Any, ...]:
    try:
        config, recorded = await run
    except NodeRunError as exc:
        return ("node error", exc.message, exc.type, exc.details)
    except SandboxLimitError as exc:
        # The size itself may differ by a few bytes: unpickled in a worker, the context's
        # strings are no longer interned, so pickle shares fewer of them on the way back.
        return ("limit", exc.kind, re.sub(r"\d+ bytes, more", "N bytes, more", exc.detail))
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    # By value: a worker's answer is an unpickled copy (a bound method of another str object).
    return ("ok", re.sub(r" at 0x[0-9a-f]+", "", repr((config.model_dump(), recorded))))


async def _here(pool: SandboxPool, *args: Any) -> Any:
    return pool.run_here(*args)


@pytest.mark.parametrize(
    ("model", "prepare", "raw"),
    [
        (TRANSFORM, prepare_config, {"mapping": {"v": "{{ trigger.v }}", "i": 1}}),
        (TRANSFORM, prepare_config, {"mapping": {"k": "{{ trigger.items[-1].k }}", "s": "t"}}),
        (TRANSFORM, prepare_config, {"mapping": {"v": "{{ nodes.fetch.output }}"}}),
        (TRANSFORM, prepare_config, {"mapping": {"v": "{{ nodes.gone.output }}"}}),
        (TRANSFORM, prepare_config, {"mapping": {"v": "{{ trigger.__class__ }}"}}),
        (TRANSFORM, prepare_config, {"mapping": {"v": "{{ trigger.text.upper }}"}}),
        (TRANSFORM, prepare_config, {"mapping": {"v": "{{ trigger.big }}"}}),  # output bound
        (TRANSFORM, prepare_config, {"mapping": "{{ trigger.v }}"}),  # invalid after rendering
        (
            CONDITION,
            prepare_condition,
            {
                "rules": [
                    {"operator": "exists", "value": "{{ trigger.nope }}", "branch": "a"},
                    {"operator": "eq", "value": "{{ trigger.v }}", "compare_to": 42, "branch": "b"},
                ]
            },
        ),
    ],
)
async def test_rendering_here_ends_as_a_worker_would(
    pool: CountingPool, model: Any, prepare: Any, raw: dict[str, Any]
) -> None:
    assert rendering_work(model, raw) is RenderWork.LOOKUPS
    here = await outcome(_here(pool, prepare, model, raw, CONTEXT))
    in_worker = await outcome(pool.run(prepare, model, raw, CONTEXT, time_limit_s=5))
    assert here == in_worker


def test_what_needs_a_worker() -> None:
    assert rendering_work(TRANSFORM, {"mapping": {"i": 1}}) is RenderWork.NONE
    assert rendering_work(TRANSFORM, {"mapping": {"v": ["{{ a }}", 1]}}) is RenderWork.LOOKUPS
    mixed = {"mapping": {"v": "{{ a }}", "w": ["x{{ b }}"]}}
    assert rendering_work(TRANSFORM, mixed) is RenderWork.CODE
    assert rendering_work(TRANSFORM, {"mapping": {"v": "{{ a | upper }}"}}) is RenderWork.CODE


async def test_lookups_never_reach_a_worker_and_code_still_does(pool: CountingPool) -> None:
    settings_ = executor_settings("amqp://unused/", max_rendered_bytes=LIMIT)
    service = ExecutorService(settings_, None, pool)  # type: ignore[arg-type]
    before = pool.jobs
    found = await service.execute(
        make_ready("transform", {"mapping": {"v": "{{ trigger.v }}"}}, trigger={"v": [7]})
    )
    assert (found.status, found.output, found.input) == (
        "succeeded",
        {"v": [7]},
        {"mapping": {"v": [7]}},
    )
    assert pool.jobs == before
    big = make_ready("transform", {"mapping": {"v": "{{ trigger }}"}}, trigger="x" * LIMIT)
    refused = await service.execute(big)
    assert refused.error is not None
    assert refused.error.type == "TemplateLimit"
    assert refused.error.details == {"limit": "output", "setting": "PORTICO_MAX_RENDERED_BYTES"}
    assert pool.jobs == before
    computed = await service.execute(
        make_ready("transform", {"mapping": {"v": "{{ trigger.v | length }}"}}, trigger={"v": [7]})
    )
    assert (computed.status, computed.output) == ("succeeded", {"v": 1})
    assert pool.jobs == before + 1


@settings(max_examples=300, deadline=None)
@given(message_id=st.text(min_size=1, max_size=100), status=st.sampled_from(["succeeded", "x"]))
def test_result_ids_are_the_uuid5_they_always_were(message_id: str, status: str) -> None:
    try:
        expected = str(
            uuid.uuid5(uuid.UUID("6f6c2a4e-3f0e-4bd5-9a53-2b7c1f0d9e11"), f"{message_id}/{status}")
        )
    except UnicodeEncodeError:
        return  # a lone surrogate: uuid5 cannot hash it either (and JSON never carries one)
    ready = make_ready("transform", {}, message_id=message_id)
    assert result_message_id(ready, status) == expected
