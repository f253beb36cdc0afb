"""What every node runner shares: its context, its outcome, and how it reports failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from portico_contracts.messages import NodeReady
from portico_contracts.nodes import NodeConfig
from portico_executors.config import Settings


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["succeeded", "suspended"] = "succeeded"
    output: Any = None
    branch: str | None = None
    resume_at: datetime | None = None


@dataclass(slots=True)
class RunContext:
    """Everything a runner may use besides its config; built once per message."""

    ready: NodeReady
    template_context: Mapping[str, Any]
    settings: Settings
    http: httpx.AsyncClient
    shutdown: asyncio.Event
    # NodeReady.timeout_s, for runners that bound their own synchronous work (JSONata).
    time_budget_s: float | None = None


RunFunction = Callable[[Any, RunContext], Awaitable[Outcome]]
# Turns NodeReady.config into (validated config, rendered config to record as the run's input).
# The default (rendering.prepare_config) renders every templated string, then validates.
PrepareFunction = Callable[
    [type[NodeConfig], dict[str, Any], Mapping[str, Any]], tuple[Any, dict[str, Any]]
]


@dataclass(frozen=True, slots=True)
class NodeRunner:
    node_type: str
    config_model: type[NodeConfig]
    run: RunFunction
    prepare: PrepareFunction | None = None
    # Whether NodeReady.timeout_s is enforced around `run` by cancelling it. Off for runners
    # that never await (cancellation cannot interrupt synchronous work; transform bounds
    # itself) and for `wait`, whose whole purpose is to take long and which is durable anyway.
    cancellable_timeout: bool = False
