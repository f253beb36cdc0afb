"""Messages the system gave up on (dead-lettered), answered by the orchestrator over RPC."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from portico_contracts.queries import DeadLetterPage, ListDeadLetters
from portico_gateway.dependencies import DB, CurrentPrincipal, State
from portico_gateway.json_safety import ID_PATTERN

router = APIRouter(prefix="/api/dead-letters", tags=["executions"])


@router.get("")
async def list_dead_letters(
    db: DB,
    principal: CurrentPrincipal,
    state: State,
    execution_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_=-]{1,500}$")] = None,
) -> DeadLetterPage:
    """This account's dead-lettered messages, newest first, each with the reason it was
    given up on; pass `next_cursor` back as `cursor` for the next page."""
    await db.commit()  # release the connection before waiting on the orchestrator
    query = ListDeadLetters(
        tenant_id=principal.tenant_id, execution_id=execution_id, limit=limit, cursor=cursor
    )
    return await state.orchestrator.list_dead_letters(query)
