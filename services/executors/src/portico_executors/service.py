"""Run one NodeReady to a NodeResult: render, validate, dispatch, time, map errors.

No transport here. Nothing but `Interrupted` (shutdown mid-wait) escapes `execute`: every
failure, expected or not, becomes a failed NodeResult the orchestrator can act on. That
includes an output too large to send on (over `max_output_bytes`): a result must never come
near the broker's message size limit, where it would be refused and lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic_core import PydanticSerializationError, to_json

from portico_contracts.credentials import CredentialDataError
from portico_contracts.messages import NodeError, NodeReady, NodeResult
from portico_contracts.nodes import NODE_TYPES
from portico_executors.config import Settings
from portico_executors.errors import Interrupted, NodeRunError
from portico_executors.nodes import RUNNERS
from portico_executors.nodes.base import (
    CredentialSource,
    NodeRunner,
    Outcome,
    ProgressFactory,
    RunContext,
)
from portico_executors.rendering import prepare_bounded, prepare_config
from portico_executors.sandbox import SandboxPool

logger = logging.getLogger("portico.executors")

# Result ids derive from the NodeReady id, so a redelivered message that ends the same way
# publishes a result with the same message_id, which consumers can drop as a duplicate.
_RESULT_NAMESPACE = uuid.UUID("6f6c2a4e-3f0e-4bd5-9a53-2b7c1f0d9e11")
_NAMESPACE_BYTES = _RESULT_NAMESPACE.bytes


def result_message_id(ready: NodeReady, status: str) -> str:
    """`str(uuid.uuid5(_RESULT_NAMESPACE, f"{message_id}/{status}"))`, spelled out: the same
    SHA-1 and bits without building a UUID object, a quarter of the CPU per message."""
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{ready.message_id}/{status}".encode()).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


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
        sandbox: SandboxPool,
        runners: Mapping[str, NodeRunner] = RUNNERS,
        credentials: CredentialSource | None = None,
        progress: ProgressFactory | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.sandbox = sandbox
        self.runners = runners
        self.credentials = credentials
        self.progress = progress
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

    def has_side_effects(self, node_type: str) -> bool:
        runner = self.runners.get(node_type)
        return runner is not None and runner.side_effects

    async def execute_encoded(self, ready: NodeReady) -> tuple[NodeResult, bytes]:
        """The result and its JSON, encoded once; an unencodable or oversized output fails
        the node."""
        result = await self.execute(ready)
        try:
            body = result.model_dump_json().encode()
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            failure = NodeRunError(f"node output is not JSON-serializable: {exc}", type="BadOutput")
            return self._failed_encoded(ready, result, failure, None)
        limit = self.settings.max_output_bytes
        if len(body) > limit:  # the whole result is over: is it the output?
            size = len(to_json(result.output))
            if size > limit:
                failure = NodeRunError(
                    f"node output is {size} bytes of JSON, more than the limit of {limit} "
                    "bytes (PORTICO_MAX_OUTPUT_BYTES)",
                    type="OutputTooLarge",
                    details={"size": size, "limit": limit, "setting": "PORTICO_MAX_OUTPUT_BYTES"},
                )
                return self._failed_encoded(ready, result, failure, result.input)
        return result, body

    def _failed_encoded(
        self,
        ready: NodeReady,
        result: NodeResult,
        failure: NodeRunError,
        recorded_input: dict[str, Any] | None,
    ) -> tuple[NodeResult, bytes]:
        failed = self._result(ready, result.started_at, None, _error(failure), recorded_input)
        return failed, failed.model_dump_json().encode()

    async def _run(self, ready: NodeReady) -> tuple[Outcome, dict[str, Any]]:
        runner = self.runners.get(ready.node_type)
        if runner is None:
            raise NodeRunError(
                f"this executor cannot run node type '{ready.node_type}'", type="UnknownNodeType"
            )
        context = ready.template_context()
        config, recorded_input = await prepare_bounded(
            runner.prepare or prepare_config,
            runner.config_model,
            ready.config,
            context,
            self.sandbox,
            self.settings,
        )
        ctx = RunContext(
            ready=ready,
            template_context=context,
            settings=self.settings,
            http=self.http,
            shutdown=self.shutdown,
            sandbox=self.sandbox,
            time_budget_s=ready.timeout_s,
        )
        if self.progress is not None and runner.reports_progress:
            ctx.progress = self.progress.for_node(ready)
        if ready.credential_id is not None:
            await self._attach_credential(ctx)
        if ready.timeout_s is None or not runner.cancellable_timeout:
            return await runner.run(config, ctx), recorded_input
        return await self._run_bounded(runner, config, ctx, ready.timeout_s), recorded_input

    async def _attach_credential(self, ctx: RunContext) -> None:
        """Resolve the node's credential with its grant into ctx.credential. Runs after the
        config rendered and validated, so a bad config fails without touching a secret."""
        ready = ctx.ready
        if self.credentials is None:
            raise NodeRunError(
                "this executor cannot resolve credentials (started without a credentials client)",
                type="CredentialUnavailable",
            )
        resolved = await self.credentials.resolve(ready)
        node_type = NODE_TYPES.get(ready.node_type)
        accepted = node_type.credential_types if node_type is not None else ()
        if resolved.type not in accepted:
            takes = " or ".join(accepted) or "no"
            raise NodeRunError(
                f"node {ready.node_id} takes a {takes} credential, {resolved.id} is "
                f"{resolved.type}; pick a credential of the right type",
                type="CredentialMismatch",
            )
        try:
            ctx.credential = resolved.parsed()
        except CredentialDataError as exc:  # names fields, never values
            raise NodeRunError(
                f"credential {resolved.id} holds invalid data: {exc}; update it",
                type="CredentialInvalid",
            ) from None
        ctx.credential_type = resolved.type

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
