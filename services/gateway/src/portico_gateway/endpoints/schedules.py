"""Active schedules and when each runs next, answered by the orchestrator's trigger registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from portico_contracts.queries import ListSchedules, SchedulesPage
from portico_gateway.dependencies import DB, CurrentPrincipal, State
from portico_gateway.json_safety import ID_PATTERN

router = APIRouter(prefix="/api/schedules", tags=["workflows"])


@router.get("")
async def list_schedules(
    db: DB,
    principal: CurrentPrincipal,
    state: State,
    workflow_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> SchedulesPage:
    """This account's active `trigger.cron` nodes, soonest `next_fire_at` first."""
    await db.commit()  # release the connection before waiting on the orchestrator
    query = ListSchedules(tenant_id=principal.tenant_id, workflow_id=workflow_id, limit=limit)
    return await state.orchestrator.list_schedules(query)
