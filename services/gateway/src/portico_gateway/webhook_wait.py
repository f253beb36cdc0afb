"""`respond: wait`: start the execution, wait for its end, answer with a node's output.

The end is noticed from the status events of that execution, which this replica binds its
status queue to before starting it (the hub), and,
since a live event can be missed (a broker reconnect, a consumer without acks), the
orchestrator is also asked every `poll_s`: a lost event delays the answer, never hangs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi.responses import JSONResponse, Response

from portico_contracts.messages import NodeProgress, StartExecution
from portico_contracts.queries import ExecutionDetail
from portico_contracts.triggers import WebhookTriggerConfig
from portico_gateway.errors import ErrorJSONResponse, PorticoError, error_body
from portico_gateway.hub import LiveEvent, StatusHub
from portico_gateway.orchestrator_client import OrchestratorClient

logger = logging.getLogger("portico.gateway.webhooks")

ENDED = frozenset({"succeeded", "failed", "cancelled"})
ENDED_EVENTS = frozenset({"execution.succeeded", "execution.failed", "execution.cancelled"})


class EndWatcher:
    """A hub listener for one execution: wakes the waiter when an event says it ended, or
    when events may have been missed (a broker reconnect)."""

    def __init__(self, tenant_id: str) -> None:
        self._tenant_id = tenant_id
        self.woken = asyncio.Event()

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def offer(self, event: LiveEvent) -> None:
        if event.event.type in ENDED_EVENTS:
            self.woken.set()

    def offer_progress(self, progress: NodeProgress) -> None:
        """Partial output is of no interest to a waiter."""

    def resync(self) -> None:
        self.woken.set()


async def _ended(
    orchestrator: OrchestratorClient, command: StartExecution
) -> ExecutionDetail | None:
    try:
        detail = await orchestrator.get_execution(command.tenant_id, command.execution_id)
    except PorticoError as exc:  # not recorded yet, or the orchestrator is briefly away
        logger.debug("execution %s not readable yet: %s", command.execution_id, exc.message)
        return None
    return detail if detail.status in ENDED else None


async def run_and_wait(
    hub: StatusHub,
    orchestrator: OrchestratorClient,
    command: StartExecution,
    timeout_s: float,
    poll_s: float,
) -> ExecutionDetail | None:
    """Start `command` and return the ended execution, or None past `timeout_s`."""
    watcher = EndWatcher(command.tenant_id)
    # Listening (and bound) before starting: no event is missed.
    bound = hub.watch_execution(command.execution_id, watcher, progress=False)
    try:
        await bound  # outside the timeout: past it, the answer says "started"
        async with asyncio.timeout(timeout_s):
            await orchestrator.start_execution(command)
            while True:
                with contextlib.suppress(TimeoutError):  # no event in time: ask anyway
                    await asyncio.wait_for(watcher.woken.wait(), poll_s)
                watcher.woken.clear()
                detail = await _ended(orchestrator, command)
                if detail is not None:
                    return detail
    except TimeoutError:
        return None
    finally:
        hub.unwatch_execution(command.execution_id, watcher, progress=False)


def _answer_of(detail: ExecutionDetail, node_id: str | None) -> Any:
    """The output of `node_id`, or of the node that finished last."""
    done = [run for run in detail.node_runs if run.status == "succeeded"]
    if node_id is not None:
        named = [run for run in done if run.node_id == node_id]
        return named[-1].output if named else None
    finished = [(run.finished_at, index) for index, run in enumerate(done) if run.finished_at]
    if not finished:
        return None
    _, last = max(finished)
    return done[last].output


def response_for(detail: ExecutionDetail, config: WebhookTriggerConfig) -> Response:
    """The HTTP answer to a waiting webhook request: 502 when the execution did not succeed."""
    if detail.status != "succeeded":
        error = detail.error.model_dump(mode="json") if detail.error else None
        message = f"the workflow's execution {detail.id} {detail.status}"
        body = error_body("execution_failed", message, {"execution_id": detail.id, "error": error})
        return ErrorJSONResponse(body, status_code=502)
    output = _answer_of(detail, config.response_node)
    headers = dict(config.response_headers)
    if isinstance(output, str):
        return Response(output, config.response_status, headers, media_type="text/plain")
    return JSONResponse(output, config.response_status, headers)
