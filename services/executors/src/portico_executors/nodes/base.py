"""What every node runner shares: its context, its outcome, and how it reports failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx

from portico_contracts.credentials import CredentialData, ResolvedCredential
from portico_contracts.messages import NodeReady
from portico_contracts.node_config import NodeConfig
from portico_executors.config import Settings
from portico_executors.rendering import PrepareFunction
from portico_executors.sandbox import SandboxPool


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["succeeded", "suspended"] = "succeeded"
    output: Any = None
    branch: str | None = None
    resume_at: datetime | None = None


class ProgressSink(Protocol):
    """Where a runner sends partial output (an AI node's text as it streams) for live
    viewers. Best effort: it never raises, and a chunk lost is only a chunk not shown live."""

    async def emit(self, text: str) -> None: ...

    async def flush(self) -> None: ...


class ProgressFactory(Protocol):
    def for_node(self, ready: NodeReady) -> ProgressSink: ...


class CredentialSource(Protocol):
    """Plaintext of the node's credential, shown the grant in its node.ready. Raises
    NodeRunError (not found, forbidden, unreachable: the last one retryable)."""

    async def resolve(self, ready: NodeReady) -> ResolvedCredential: ...


class NoProgress:
    async def emit(self, text: str) -> None:
        return None

    async def flush(self) -> None:
        return None


@dataclass(slots=True)
class RunContext:
    """Everything a runner may use besides its config; built once per message."""

    ready: NodeReady
    template_context: Mapping[str, Any]
    settings: Settings
    http: httpx.AsyncClient
    shutdown: asyncio.Event
    # Where untrusted computations (JSONata) run, bounded; see sandbox.py.
    sandbox: SandboxPool
    # NodeReady.timeout_s, for runners that bound their own synchronous work (JSONata).
    time_budget_s: float | None = None
    # The node's credential, resolved with its grant just before the run (None if it has
    # none). Plaintext: never log it, never put it in an output, an error or a details dict.
    credential: CredentialData | None = None
    credential_type: str | None = None
    progress: ProgressSink = field(default_factory=NoProgress)


RunFunction = Callable[[Any, RunContext], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class NodeRunner:
    node_type: str
    config_model: type[NodeConfig]
    run: RunFunction
    # Turns NodeReady.config into (validated config, rendered config to record as the run's
    # input); runs in a sandbox worker, so it must be a module-level function. The default
    # (rendering.prepare_config) renders every templated string, then validates.
    prepare: PrepareFunction | None = None
    # Whether NodeReady.timeout_s is enforced around `run` by cancelling it. Off for runners
    # that never await (cancellation cannot interrupt synchronous work; transform bounds
    # itself) and for `wait`, whose whole purpose is to take long and which is durable anyway.
    cancellable_timeout: bool = False
    # Whether running it twice does harm (a second POST): a redelivered node.ready of such a
    # type first asks the orchestrator whether its attempt still awaits a result.
    side_effects: bool = False
    # Whether it sends partial output (ctx.progress): only such runs get a live sink; the
    # rest keep the no-op one and cost nothing for it.
    reports_progress: bool = False
