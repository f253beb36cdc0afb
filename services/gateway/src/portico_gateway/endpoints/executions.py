"""Execution history and control, answered by the orchestrator over RPC.

The orchestrator owns executions; the gateway passes the caller's tenant with every query
and maps the reply (not_found → 404, invalid_request → 422 (409 for a retry), conflict → 409,
no reply → 503).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from portico_contracts.messages import ExecutionStatus
from portico_contracts.queries import (
    ExecutionDetail,
    ExecutionPage,
    ExecutionSummary,
    ListExecutions,
)
from portico_gateway import runs
from portico_gateway.dependencies import DB, CurrentPrincipal, IdempotencyKeyHeader, State
from portico_gateway.json_safety import ID_PATTERN
from portico_gateway.rate_limits import Rule
from portico_gateway.schemas import CancelRequest, RetryAccepted

router = APIRouter(prefix="/api/executions", tags=["executions"])

ExecutionId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("")
async def list_executions(
    db: DB,
    principal: CurrentPrincipal,
    state: State,
    workflow_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: ExecutionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_=-]{1,500}$")] = None,
) -> ExecutionPage:
    """Newest first; pass `next_cursor` back as `cursor` for the next page.

    Filtering by another tenant's workflow finds nothing, like any unknown workflow.
    """
    await db.commit()  # release the connection before waiting on the orchestrator
    query = ListExecutions(
        tenant_id=principal.tenant_id,
        workflow_id=workflow_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return await state.orchestrator.list_executions(query)


@router.get("/{execution_id}")
async def get_execution(
    execution_id: ExecutionId, db: DB, principal: CurrentPrincipal, state: State
) -> ExecutionDetail:
    """One execution with every node run (input, output, error, attempts, times)."""
    await db.commit()
    return await state.orchestrator.get_execution(principal.tenant_id, execution_id)


@router.post("/{execution_id}/cancel")
async def cancel_execution(
    execution_id: ExecutionId,
    db: DB,
    principal: CurrentPrincipal,
    state: State,
    body: CancelRequest | None = None,
) -> ExecutionSummary:
    """Cancel; returns the execution as it now is (already finished ones are left as they are)."""
    await db.commit()
    reason = body.reason if body else None
    return await state.orchestrator.cancel_execution(principal.tenant_id, execution_id, reason)


@router.post(
    "/{execution_id}/retry",
    status_code=202,
    responses={
        409: {"description": "the execution is not failed or cancelled"},
        429: {"description": "too many runs for this account; see Retry-After"},
    },
)
async def retry_execution(
    execution_id: ExecutionId,
    db: DB,
    principal: CurrentPrincipal,
    state: State,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RetryAccepted:
    """Run a failed or cancelled execution again as a new one, linked to it by `retry_of`:
    nodes that succeeded keep their outputs, the failed and unfinished ones run again."""
    await state.rate_limits.hit(Rule.RUN, principal.tenant_id)
    return await runs.start_retry(
        db,
        state.orchestrator,
        principal,
        execution_id,
        idempotency_key,
        state.settings.idempotency_ttl_s,
    )
