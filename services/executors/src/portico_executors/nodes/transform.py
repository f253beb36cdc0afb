"""transform: a JSONata `expression`, or a `mapping` the template step already rendered.

jsonata-python quirks handled here:
- `$now()`/`$millis()` read the timestamp of the *last constructed* Jsonata instance on the
  thread (`Jsonata.CURRENT`), not of the one evaluating; with cached expressions that is a
  stale time. We point CURRENT at the expression right before each evaluation.
- Runtime bounds given to the constructor start their clock at compile time, so a cached
  expression would time out for good after the first N ms. We start a fresh Timebox on a
  per-evaluation frame instead.
- Input must be JSON types only (datetime raises ValueError). Our context is JSON already:
  it arrives as JSON and `execution` is dumped with mode="json".
- Results may be jsonata's own list subclass, or a function (`function($x){$x}`); we convert
  the first to plain lists and refuse the second.

Evaluation runs in a sandbox worker (sandbox.py): jsonata checks its own time and depth
bounds only between steps, so one built-in call over a huge input (`$pad`, `$join`, a range)
could still hold the event loop or exhaust memory. The worker is killed shortly after the
evaluator's own timeout if it has not stopped by itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonata
from jsonata import timebox

from portico_contracts.nodes import TransformConfig
from portico_executors.errors import NodeRunError
from portico_executors.nodes.base import Outcome, RunContext
from portico_executors.rendering import limit_failure
from portico_executors.sandbox import SandboxLimitError

JSONATA_ERROR = "JsonataError"
JSONATA_LIMIT = "JsonataLimit"
# How long past its own timeout an evaluation may take before its worker is killed.
KILL_GRACE_S = 0.5


@lru_cache(maxsize=1024)
def compile_expression(expression: str) -> Any:
    try:
        return jsonata.Jsonata(expression)
    except Exception as exc:  # config validation parses it first; this is a safety net
        raise NodeRunError(f"JSONata syntax error: {exc}", type=JSONATA_ERROR) from exc


def to_json_value(value: Any, path: str = "result") -> Any:
    """Plain JSON types out of a JSONata result; fails on anything that is not data."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NodeRunError(f"{path} is not a finite number", type=JSONATA_ERROR)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise NodeRunError(
        f"{path} is a {type(value).__name__}, not JSON data (did the expression return a "
        "function?)",
        type=JSONATA_ERROR,
    )


_TIMEOUT_CODE = "D1012"  # jsonata's "Evaluation timeout"


class JsonataTimeoutError(Exception):
    """The expression ran past its time bound."""


def evaluate(
    expression: str, data: Any, timeout_ms: int | None = None, max_depth: int | None = None
) -> Any:
    compiled = compile_expression(expression)
    frame = compiled.create_frame(compiled.environment)
    if timeout_ms is not None or max_depth is not None:
        timebox.Timebox(frame, timeout_ms, max_depth)
    jsonata.Jsonata.CURRENT.jsonata = compiled  # see module docstring: $now() reads this
    try:
        result = compiled.evaluate(data, frame)
    except RecursionError as exc:
        raise NodeRunError("JSONata expression recursed too deeply", type=JSONATA_ERROR) from exc
    except MemoryError:
        raise  # the sandbox worker's memory cap: reported as such, and the worker replaced
    except Exception as exc:  # JException (RuntimeError) and ValueError for bad input
        if getattr(exc, "error", None) == _TIMEOUT_CODE:
            raise JsonataTimeoutError(str(exc)) from exc
        raise NodeRunError(f"JSONata evaluation failed: {exc}", type=JSONATA_ERROR) from exc
    return to_json_value(result)


def jsonata_input(ctx: RunContext) -> dict[str, Any]:
    return dict(ctx.template_context)  # trigger, nodes, execution, input


def _node_timeout(ctx: RunContext) -> NodeRunError:
    return NodeRunError(  # the node's own timeout: a retry may be luckier
        f"node did not finish within its timeout of {ctx.time_budget_s:g} s",
        type="Timeout",
        retryable=True,
    )


async def run_transform(config: TransformConfig, ctx: RunContext) -> Outcome:
    if config.expression is None:
        return Outcome(output=config.mapping)
    limit_ms = ctx.settings.jsonata_timeout_ms
    budget_ms = None if ctx.time_budget_s is None else max(1, int(ctx.time_budget_s * 1000))
    timeout_ms = limit_ms if budget_ms is None else min(limit_ms, budget_ms)
    try:
        output = await ctx.sandbox.run(
            evaluate,
            config.expression,
            jsonata_input(ctx),
            timeout_ms,
            ctx.settings.jsonata_max_depth,
            time_limit_s=timeout_ms / 1000 + KILL_GRACE_S,
        )
    except JsonataTimeoutError as exc:
        if timeout_ms == budget_ms:
            raise _node_timeout(ctx) from exc
        raise NodeRunError(  # the service-wide cap: the same input will hit it again
            f"JSONata expression ran longer than {limit_ms} ms (PORTICO_JSONATA_TIMEOUT_MS)",
            type=JSONATA_ERROR,
        ) from exc
    except SandboxLimitError as exc:
        if exc.kind == "time" and timeout_ms == budget_ms:
            raise _node_timeout(ctx) from exc
        raise limit_failure(
            exc, "the JSONata expression", JSONATA_LIMIT, "PORTICO_JSONATA_TIMEOUT_MS"
        ) from exc
    return Outcome(output=output)
