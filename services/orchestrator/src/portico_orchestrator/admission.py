"""Concurrency limits: how many executions of a tenant, and of one workflow, run at once.

An execution over a limit is stored as `queued` and starts when a running one of the same
tenant finishes (or, should that moment be missed, at the watchdog's next sweep), oldest
first. Decisions for one tenant are serialized by a transaction-scoped advisory lock on it, so
replicas admitting side by side never overshoot. Counting stops at the limit, so a tenant with
many running executions costs no more than one at its limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from portico_orchestrator.db import Connection, Query

# The first half of the two-integer advisory lock key: "admission of one tenant".
ADMISSION_LOCK_NAMESPACE = 0x5041  # "PA"

_LOCK_TENANT = Query(
    f"SELECT pg_advisory_xact_lock({ADMISSION_LOCK_NAMESPACE}, hashtext(:tenant_id))"
)
_COUNTS = Query(
    """
    SELECT
        (SELECT count(*) FROM (
            SELECT 1 FROM orchestrator.executions
            WHERE tenant_id = :tenant_id AND status = 'running' LIMIT :tenant_limit) AS t
        ) AS tenant_running,
        (SELECT count(*) FROM (
            SELECT 1 FROM orchestrator.executions
            WHERE tenant_id = :tenant_id AND workflow_id = :workflow_id AND status = 'running'
            LIMIT :workflow_limit) AS w
        ) AS workflow_running,
        EXISTS (SELECT 1 FROM orchestrator.executions
                WHERE tenant_id = :tenant_id AND workflow_id = :workflow_id
                  AND status = 'queued') AS workflow_queued
    """
)
_QUEUED = Query(
    """
    SELECT id, workflow_id, max_concurrency FROM orchestrator.executions
    WHERE tenant_id = :tenant_id AND status = 'queued'
    ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
)
_ANY_QUEUED = Query(
    "SELECT EXISTS (SELECT 1 FROM orchestrator.executions"
    " WHERE tenant_id = :tenant_id AND status = 'queued')"
)
_QUEUED_TENANTS = Query(
    "SELECT DISTINCT tenant_id FROM orchestrator.executions WHERE status = 'queued' LIMIT :limit"
)
_NO_LIMIT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Load:
    tenant_running: int
    workflow_running: int
    workflow_queued: bool

    def admits(self, tenant_limit: int, workflow_limit: int | None) -> bool:
        """A new execution runs now when both limits allow it and none of the same workflow
        waits before it (first come, first served)."""
        return (
            self.tenant_running < tenant_limit
            and (workflow_limit is None or self.workflow_running < workflow_limit)
            and not self.workflow_queued
        )


async def lock_tenant(conn: Connection, tenant_id: str) -> None:
    await _LOCK_TENANT.execute(conn, tenant_id=tenant_id)


async def load(
    conn: Connection,
    tenant_id: str,
    workflow_id: str,
    tenant_limit: int,
    workflow_limit: int | None,
) -> Load:
    """The tenant's load; call with the tenant locked."""
    found = await _COUNTS.fetchrow(
        conn,
        tenant_id=tenant_id,
        workflow_id=workflow_id,
        tenant_limit=tenant_limit,
        workflow_limit=workflow_limit or _NO_LIMIT,
    )
    assert found is not None
    return Load(found["tenant_running"], found["workflow_running"], found["workflow_queued"])


async def queued(conn: Connection, tenant_id: str, limit: int) -> list[tuple[str, str, int | None]]:
    """The tenant's oldest queued executions (id, workflow, its limit), locked for us."""
    rows = await _QUEUED.fetch(conn, tenant_id=tenant_id, limit=limit)
    return [(r["id"], r["workflow_id"], r["max_concurrency"]) for r in rows]


async def has_queued(conn: Connection, tenant_id: str) -> bool:
    return bool(await _ANY_QUEUED.fetchval(conn, tenant_id=tenant_id))


async def tenants_waiting(conn: Connection, limit: int = 100) -> list[str]:
    return [r["tenant_id"] for r in await _QUEUED_TENANTS.fetch(conn, limit=limit)]
