"""Run one NodeReady to a NodeResult: render, validate, dispatch, time, map errors.

No transport here. Nothing but `Interrupted` (shutdown mid-wait) escapes `execute`: every
failure, expected or not, becomes a failed NodeResult the orchestrator can act on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic_core import PydanticSerializationError

from portico_contracts.messages import NodeError, NodeReady, NodeResult
from portico_executors.config import Settings
from portico_executors.errors import Interrupted, NodeRunError
from portico_executors.nodes import RUNNERS
from portico_executors.nodes.base import NodeRunner, Outcome, RunContext
from portico_executors.rendering import prepare_config

logger = logging.getLogger("portico.executors")

# Result ids derive from the NodeReady id, so a redelivered message that ends the same way
# publishes a result with the same message_id, which consumers can drop as a duplicate.
_RESULT_NAMESPACE = uuid.UUID("6f6c2a4e-3f0e-4bd5-9a53-2b7c1f0d9e11")


def result_message_id(ready: NodeReady, status: str) -> str:
    return str(uuid.uuid5(_RESULT_NAMESPACE, f"{ready.message_id}/{status}"))


def _error(failure: NodeRunError) -> NodeError:
    return NodeError(
        message=failure.message,
        type=failure.type,
        retryable=failure.retryable,
        details=failure.details,
    )


class ExecutorService:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        runners: Mapping[str, NodeRunner] = RUNNERS,
    ) -> None:
        self.settings = settings
        self.http = http
        self.runners = runners
        # Set on SIGTERM: long inline waits give their delivery back instead of holding it.
        self.shutdown = asyncio.Event()

    async def execute(self, ready: NodeReady) -> NodeResult:
        started_at = datetime.now(UTC)
        recorded_input: dict[str, Any] | None = None
        outcome: Outcome | None = None
        error: NodeError | None = None
        try:
            outcome, recorded_input = await self._run(ready)
        except NodeRunError as failure:
            error = _error(failure)
        except Interrupted:
            raise
        except Exception as exc:  # a bug or an unforeseen library error: report, don't crash
            logger.exception("node %s of execution %s crashed", ready.node_id, ready.execution_id)
            error = NodeError(message=str(exc) or type(exc).__name__, type=type(exc).__name__)
        return self._result(ready, started_at, outcome, error, recorded_input)

    async def execute_encoded(self, ready: NodeReady) -> tuple[NodeResult, bytes]:
        """The result and its JSON, encoded once; an unencodable output fails the node."""
        result = await self.execute(ready)
        try:
            return result, result.model_dump_json().encode()
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            failure = NodeRunError(f"node output is not JSON-serializable: {exc}", type="BadOutput")
            result = self._result(ready, result.started_at, None, _error(failure), None)
            return result, result.model_dump_json().encode()

    async def _run(self, ready: NodeReady) -> tuple[Outcome, dict[str, Any]]:
        runner = self.runners.get(ready.node_type)
        if runner is None:
            raise NodeRunError(
                f"this executor cannot run node type '{ready.node_type}'", type="UnknownNodeType"
            )
        context = ready.template_context()
        prepare = runner.prepare or prepare_config
        config, recorded_input = prepare(runner.config_model, ready.config, context)
        ctx = RunContext(
            ready=ready,
            template_context=context,
            settings=self.settings,
            http=self.http,
            shutdown=self.shutdown,
            time_budget_s=ready.timeout_s,
        )
        if ready.timeout_s is None or not runner.cancellable_timeout:
            return await runner.run(config, ctx), recorded_input
        return await self._run_bounded(runner, config, ctx, ready.timeout_s), recorded_input

    @staticmethod
    async def _run_bounded(
        runner: NodeRunner, config: Any, ctx: RunContext, timeout_s: float
    ) -> Outcome:
        try:
            async with asyncio.timeout(timeout_s) as scope:
                return await runner.run(config, ctx)
        except TimeoutError as exc:
            if not scope.expired():
                raise  # some inner timeout the runner did not map; not ours to relabel
            raise NodeRunError(
                f"node did not finish within its timeout of {timeout_s:g} s",
                type="Timeout",
                retryable=True,
            ) from exc

    @staticmethod
    def _result(
        ready: NodeReady,
        started_at: datetime,
        outcome: Outcome | None,
        error: NodeError | None,
        recorded_input: dict[str, Any] | None,
    ) -> NodeResult:
        status = "failed" if outcome is None else outcome.status
        return NodeResult(
            message_id=result_message_id(ready, status),
            tenant_id=ready.tenant_id,
            execution_id=ready.execution_id,
            node_id=ready.node_id,
            attempt=ready.attempt,
            status=status,
            output=None if outcome is None else outcome.output,
            branch=None if outcome is None else outcome.branch,
            resume_at=None if outcome is None else outcome.resume_at,
            error=error,
            input=recorded_input,
            started_at=started_at,
            finished_at=datetime.now(UTC),
        )
