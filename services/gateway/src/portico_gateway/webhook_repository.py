"""Queries of the webhook tables: routes of active workflows and test listeners. None commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from portico_gateway.models import WebhookRoute, WebhookTestListener

# --- routes -------------------------------------------------------------------------------------


async def delete_routes(db: AsyncSession, workflow_id: str) -> None:
    await db.execute(delete(WebhookRoute).where(WebhookRoute.workflow_id == workflow_id))


async def claim_route(db: AsyncSession, route: WebhookRoute) -> str | None:
    """Insert `route` unless its path is taken; None when claimed, else the owner's workflow
    id. The primary key settles a race: the second insert waits, then finds the first."""
    statement = (
        insert(WebhookRoute)
        .values(
            path=route.path,
            tenant_id=route.tenant_id,
            workflow_id=route.workflow_id,
            node_id=route.node_id,
            version=route.version,
        )
        .on_conflict_do_nothing(index_elements=[WebhookRoute.path])
        .returning(WebhookRoute.path)
    )
    if (await db.scalars(statement)).one_or_none() is not None:
        return None
    owner = select(WebhookRoute.workflow_id).where(WebhookRoute.path == route.path)
    return (await db.scalars(owner)).one_or_none() or ""


_ROUTE = select(
    WebhookRoute.tenant_id, WebhookRoute.workflow_id, WebhookRoute.version, WebhookRoute.node_id
).where(WebhookRoute.path == bindparam("path"))


async def route_by_path(connection: AsyncConnection, path: str) -> tuple[str, str, int, str] | None:
    """(tenant id, workflow id, version, node id) of the route on `path`: Core, one statement
    (every webhook request asks)."""
    row = (await connection.execute(_ROUTE, {"path": path})).one_or_none()
    return None if row is None else (row[0], row[1], row[2], row[3])


# --- test listeners -----------------------------------------------------------------------------


async def listen(
    db: AsyncSession, tenant_id: str, workflow_id: str, path: str, expires_at: datetime
) -> None:
    """Start (or restart) listening: any request caught before is forgotten."""
    values: dict[str, Any] = {
        "workflow_id": workflow_id,
        "tenant_id": tenant_id,
        "path": path,
        "expires_at": expires_at,
        "request": None,
        "execution_id": None,
    }
    new = insert(WebhookTestListener).values(**values)
    await db.execute(
        new.on_conflict_do_update(
            index_elements=[WebhookTestListener.workflow_id],
            set_={name: new.excluded[name] for name in values if name != "workflow_id"},
        )
    )


async def listener(
    db: AsyncSession, tenant_id: str, workflow_id: str
) -> WebhookTestListener | None:
    statement = select(WebhookTestListener).where(
        WebhookTestListener.tenant_id == tenant_id, WebhookTestListener.workflow_id == workflow_id
    )
    return (await db.scalars(statement)).one_or_none()


async def waiting_listener(
    db: AsyncSession, path: str, now: datetime
) -> WebhookTestListener | None:
    """The newest listener still waiting on `path`, locked so one request alone takes it."""
    statement = (
        select(WebhookTestListener)
        .where(
            WebhookTestListener.path == path,
            WebhookTestListener.expires_at > now,
            WebhookTestListener.request.is_(None),
        )
        .order_by(WebhookTestListener.expires_at.desc())
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await db.scalars(statement)).one_or_none()


async def capture(
    db: AsyncSession, workflow_id: str, request: dict[str, Any], execution_id: str
) -> None:
    await db.execute(
        update(WebhookTestListener)
        .where(WebhookTestListener.workflow_id == workflow_id)
        .values(request=request, execution_id=execution_id)
    )
