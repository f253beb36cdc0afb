"""wait: pause a branch until `dispatched_at + seconds`, or until the time `until`.

The deadline hangs off `NodeReady.dispatched_at`, not off the moment this executor got the
message, so a delivery redelivered after a crash or restart waits only what is left. Short
waits sleep here (without blocking other messages: each delivery runs in its own task);
long ones return `suspended` with `resume_at` at once, and the orchestrator's durable timer
dispatches the same attempt again — with the same `dispatched_at` — when it is due, at which
point the deadline has passed and the node succeeds immediately.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from portico_contracts.nodes import WaitConfig
from portico_executors.errors import Interrupted, NodeRunError
from portico_executors.nodes.base import Outcome, RunContext


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_until(text: str) -> datetime:
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        return _aware(datetime.fromisoformat(cleaned))
    except ValueError as exc:
        raise NodeRunError(
            f"field 'until': {text!r} is not an ISO-8601 date-time "
            "(for example 2030-01-31T09:00:00Z)",
            type="InvalidConfig",
            details={"field": "until"},
        ) from exc


def wait_deadline(config: WaitConfig, dispatched_at: datetime) -> datetime:
    if config.until is not None:
        return parse_until(config.until)
    return _aware(dispatched_at) + timedelta(seconds=config.seconds or 0.0)


def _done(deadline: datetime) -> Outcome:
    return Outcome(output={"waited_until": deadline.isoformat()})


async def sleep_unless_shutdown(seconds: float, shutdown: asyncio.Event) -> None:
    """Sleep; on shutdown give the delivery back (a redelivery resumes from the deadline)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(shutdown.wait(), seconds)
        raise Interrupted("executor is shutting down")


async def run_wait(config: WaitConfig, ctx: RunContext) -> Outcome:
    deadline = wait_deadline(config, ctx.ready.dispatched_at)
    remaining = (deadline - datetime.now(UTC)).total_seconds()
    if remaining <= 0:
        return _done(deadline)
    if remaining > ctx.settings.wait_inline_limit_s:
        return Outcome(status="suspended", resume_at=deadline)
    await sleep_unless_shutdown(remaining, ctx.shutdown)
    return _done(deadline)
