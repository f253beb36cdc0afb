"""Talking to the orchestrator: the start command and the queries of `portico_contracts.queries`.

Every query carries the caller's tenant; the orchestrator filters by it, so another tenant's
execution comes back as `not_found` exactly like a missing one.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import BaseModel, Field

from portico_contracts.messages import StartExecution
from portico_contracts.queries import (
    CancelExecutionRequest,
    DeadLetterPage,
    EventsPage,
    EventsSince,
    ExecutionDetail,
    ExecutionPage,
    ExecutionSummary,
    GetExecution,
    IssueGrant,
    LatestExecutions,
    LatestExecutionsPage,
    LatestExecutionView,
    ListDeadLetters,
    ListExecutions,
    ListSchedules,
    RetryExecutionRequest,
    SchedulesPage,
)
from portico_contracts.topology import (
    COMMANDS_EXCHANGE,
    EXECUTION_START,
    ORCHESTRATOR_RPC_QUEUE_NAME,
)
from portico_gateway.errors import (
    BrokerUnavailableError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OrchestratorUnavailableError,
    PorticoError,
)
from portico_gateway.peer_rpc import Peer, ask, parsed, reply_result
from portico_gateway.rpc import (
    BrokerUnreachableError,
    ReplyTimeoutError,
    RpcClient,
    UnroutableError,
)

logger = logging.getLogger("portico.gateway.orchestrator")

# The workflow list waits at most this long for its last executions: they decorate a page the
# editor opens first, which is served without them rather than held up by a slow orchestrator.
LATEST_EXECUTIONS_WAIT_S = 2.0

M = TypeVar("M", bound=BaseModel)


class OrchestratorError(PorticoError):
    """The orchestrator answered, but with an internal error or something unreadable."""

    code, status = "orchestrator_error", 502


ORCHESTRATOR = Peer(
    name="the orchestrator",
    queue=ORCHESTRATOR_RPC_QUEUE_NAME,
    unavailable=OrchestratorUnavailableError,
    failed=OrchestratorError,
    errors={
        "not_found": NotFoundError,
        "invalid_request": InvalidRequestError,
        "conflict": ConflictError,
        "unavailable": OrchestratorUnavailableError,
    },
)


class IssuedGrant(BaseModel):
    """The orchestrator's answer to IssueGrant: a grant to read one credential for one request,
    with the execution and node ids it names in place of a node run's."""

    grant: str = Field(min_length=1, max_length=4096, repr=False)
    execution_id: str = Field(min_length=1, max_length=200)
    node_id: str = Field(min_length=1, max_length=200)


class OrchestratorClient:
    def __init__(self, rpc: RpcClient, timeout_s: float) -> None:
        self._rpc = rpc
        self._timeout = timeout_s

    async def start_execution(self, command: StartExecution) -> bool:
        """Queue the start command durably; True when the orchestrator confirmed it in time.

        The reply means the execution row exists (so an immediate GET finds it). Without a
        reply the command still waits, persistent, in the orchestrator's queue and runs when
        an orchestrator comes back, so a timeout here is not a failure.
        """
        try:
            raw = await self._rpc.call(
                command.model_dump_json().encode(),
                exchange=COMMANDS_EXCHANGE.name,
                routing_key=EXECUTION_START,
                wait_s=self._timeout,
                persistent=True,
                expires=False,
            )
        except ReplyTimeoutError:
            logger.warning("no reply to execution.start %s; it stays queued", command.execution_id)
            return False
        except (BrokerUnreachableError, UnroutableError) as exc:
            raise BrokerUnavailableError(f"could not queue the execution: {exc}") from exc
        reply_result(ORCHESTRATOR, raw)
        return True

    async def _parsed(self, query: BaseModel, model: type[M], wait_s: float | None = None) -> M:
        # Replies are logged by their problems only: one may carry a grant.
        reply = await ask(self._rpc, ORCHESTRATOR, query, wait_s or self._timeout)
        return parsed(ORCHESTRATOR, reply, model)

    async def get_execution(self, tenant_id: str, execution_id: str) -> ExecutionDetail:
        query = GetExecution(tenant_id=tenant_id, execution_id=execution_id)
        return await self._parsed(query, ExecutionDetail)

    async def list_executions(self, query: ListExecutions) -> ExecutionPage:
        return await self._parsed(query, ExecutionPage)

    async def latest_executions(
        self, tenant_id: str, workflow_ids: list[str]
    ) -> list[LatestExecutionView]:
        """The newest execution of each of these workflows (those never run are absent)."""
        query = LatestExecutions(tenant_id=tenant_id, workflow_ids=workflow_ids)
        wait_s = min(self._timeout, LATEST_EXECUTIONS_WAIT_S)
        return (await self._parsed(query, LatestExecutionsPage, wait_s)).items

    async def events_since(
        self, tenant_id: str, execution_id: str, after_seq: int, limit: int = 1000
    ) -> EventsPage:
        query = EventsSince(
            tenant_id=tenant_id, execution_id=execution_id, after_seq=after_seq, limit=limit
        )
        return await self._parsed(query, EventsPage)

    async def cancel_execution(
        self, tenant_id: str, execution_id: str, reason: str | None
    ) -> ExecutionSummary:
        query = CancelExecutionRequest(
            tenant_id=tenant_id, execution_id=execution_id, reason=reason
        )
        return await self._parsed(query, ExecutionSummary)

    async def retry_execution(
        self, tenant_id: str, execution_id: str, new_execution_id: str
    ) -> ExecutionSummary:
        """Start `new_execution_id` as a retry of a failed or cancelled execution.

        The orchestrator's invalid_request here means "not in a state that can be retried":
        a conflict with the execution's state (409), not a malformed request.
        """
        query = RetryExecutionRequest(
            tenant_id=tenant_id, execution_id=execution_id, new_execution_id=new_execution_id
        )
        try:
            return await self._parsed(query, ExecutionSummary)
        except InvalidRequestError as exc:
            raise ConflictError(exc.message) from exc

    async def list_dead_letters(self, query: ListDeadLetters) -> DeadLetterPage:
        return await self._parsed(query, DeadLetterPage)

    async def list_schedules(self, query: ListSchedules) -> SchedulesPage:
        return await self._parsed(query, SchedulesPage)

    async def issue_grant(
        self, tenant_id: str, credential_id: str, requested_by: str
    ) -> IssuedGrant:
        query = IssueGrant(
            tenant_id=tenant_id, credential_id=credential_id, requested_by=requested_by
        )
        return await self._parsed(query, IssuedGrant)
