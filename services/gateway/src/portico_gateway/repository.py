"""Queries of the `gateway` schema. Every query names the tenant; none of them commits.

The transaction belongs to the caller's boundary (one per HTTP request), so a repository
function only reads, adds and flushes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from portico_gateway.models import (
    ApiKey,
    IdempotencyKey,
    Session,
    User,
    Workflow,
    WorkflowVersion,
    new_uuid,
)

# --- users and sessions -------------------------------------------------------------------------


async def add_user(db: AsyncSession, email: str, password_hash: str) -> User | None:
    """Insert a user; None when the email is taken (no exception, so the transaction lives)."""
    user_id = new_uuid()
    statement = (
        insert(User)
        .values(id=user_id, tenant_id=user_id, email=email, password_hash=password_hash)
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User)
    )
    return (await db.scalars(statement)).one_or_none()


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    return (await db.scalars(select(User).where(User.email == email))).one_or_none()


async def add_session(
    db: AsyncSession, user: User, token_hash: str, expires_at: datetime, now: datetime
) -> None:
    # Housekeeping rides on login: the user's expired sessions go when a new one comes.
    await db.execute(delete(Session).where(Session.user_id == user.id, Session.expires_at <= now))
    db.add(
        Session(
            tenant_id=user.tenant_id, user_id=user.id, token_hash=token_hash, expires_at=expires_at
        )
    )
    await db.flush()


async def delete_session(db: AsyncSession, token_hash: str) -> None:
    await db.execute(delete(Session).where(Session.token_hash == token_hash))


# --- API keys -----------------------------------------------------------------------------------


async def add_api_key(
    db: AsyncSession, tenant_id: str, user_id: str, name: str, prefix: str, key_hash: str
) -> ApiKey:
    key = ApiKey(tenant_id=tenant_id, user_id=user_id, name=name, prefix=prefix, key_hash=key_hash)
    db.add(key)
    await db.flush()
    await db.refresh(key)
    return key


async def list_api_keys(db: AsyncSession, tenant_id: str) -> list[ApiKey]:
    statement = (
        select(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(await db.scalars(statement))


async def revoke_api_key(db: AsyncSession, tenant_id: str, key_id: str, now: datetime) -> bool:
    statement = (
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKey.id)
    )
    return (await db.scalars(statement)).one_or_none() is not None


# --- workflows ----------------------------------------------------------------------------------


async def add_workflow(
    db: AsyncSession, tenant_id: str, graph: dict[str, Any], created_by: str
) -> tuple[Workflow, WorkflowVersion]:
    workflow = Workflow(
        tenant_id=tenant_id,
        name=graph["name"],
        description=graph.get("description"),
        latest_version=1,
    )
    db.add(workflow)
    await db.flush()
    version = WorkflowVersion(
        workflow_id=workflow.id, version=1, tenant_id=tenant_id, graph=graph, created_by=created_by
    )
    db.add(version)
    await db.flush()
    await db.refresh(workflow)
    await db.refresh(version)
    return workflow, version


async def get_workflow(
    db: AsyncSession,
    tenant_id: str,
    workflow_id: str,
    *,
    for_update: bool = False,
) -> Workflow | None:
    statement = select(Workflow).where(
        Workflow.tenant_id == tenant_id, Workflow.id == workflow_id, Workflow.deleted_at.is_(None)
    )
    if for_update:
        # Serializes concurrent saves of one workflow so version numbers never collide.
        # populate_existing: the row may already be in the session, read before the lock,
        # and what counts (latest_version) is what it holds now.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await db.scalars(statement)).one_or_none()


async def list_workflows(
    db: AsyncSession, tenant_id: str, limit: int, offset: int, name_contains: str | None = None
) -> tuple[list[Workflow], int]:
    """A page of the tenant's live workflows and how many there are in all; `name_contains`
    keeps those whose name holds it, ignoring case (autoescape: a `%` or `_` in it is matched
    literally, never as a LIKE wildcard)."""
    live = [Workflow.tenant_id == tenant_id, Workflow.deleted_at.is_(None)]
    if name_contains:
        live.append(Workflow.name.icontains(name_contains, autoescape=True))
    total = await db.scalar(select(func.count()).select_from(Workflow).where(*live))
    statement = (
        select(Workflow)
        .where(*live)
        .order_by(Workflow.updated_at.desc(), Workflow.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await db.scalars(statement)), int(total or 0)


async def add_version(
    db: AsyncSession, workflow: Workflow, graph: dict[str, Any], created_by: str, now: datetime
) -> WorkflowVersion:
    """Append version latest+1; the caller holds the workflow row lock (get_workflow for_update)."""
    number = workflow.latest_version + 1
    version = WorkflowVersion(
        workflow_id=workflow.id,
        version=number,
        tenant_id=workflow.tenant_id,
        graph=graph,
        created_by=created_by,
    )
    db.add(version)
    workflow.latest_version = number
    workflow.name = graph["name"]
    workflow.description = graph.get("description")
    workflow.updated_at = now
    await db.flush()
    await db.refresh(version)
    return version


async def get_version(
    db: AsyncSession, tenant_id: str, workflow_id: str, number: int
) -> WorkflowVersion | None:
    statement = select(WorkflowVersion).where(
        WorkflowVersion.tenant_id == tenant_id,
        WorkflowVersion.workflow_id == workflow_id,
        WorkflowVersion.version == number,
    )
    return (await db.scalars(statement)).one_or_none()


async def list_versions(
    db: AsyncSession, tenant_id: str, workflow_id: str
) -> list[tuple[int, datetime, str | None, str]]:
    """(version, created_at, created_by, name) newest first, without loading the graphs whole."""
    statement = (
        select(
            WorkflowVersion.version,
            WorkflowVersion.created_at,
            WorkflowVersion.created_by,
            WorkflowVersion.graph["name"].astext,
        )
        .where(
            WorkflowVersion.tenant_id == tenant_id,
            WorkflowVersion.workflow_id == workflow_id,
        )
        .order_by(WorkflowVersion.version.desc())
    )
    return [(row[0], row[1], row[2], row[3]) for row in await db.execute(statement)]


async def soft_delete_workflow(db: AsyncSession, workflow: Workflow, now: datetime) -> None:
    # Versions stay: executions that ran them still point at them.
    workflow.deleted_at = now
    await db.flush()


# --- idempotency keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldKey:
    """The first request under an idempotency key: what it asked and what it was answered."""

    fingerprint: str
    response: dict[str, Any]


_HELD_KEY = select(IdempotencyKey.fingerprint, IdempotencyKey.response).where(
    IdempotencyKey.tenant_id == bindparam("tenant_id", type_=IdempotencyKey.tenant_id.type),
    IdempotencyKey.key == bindparam("key"),
)


async def claim_idempotency_key(
    connection: AsyncConnection, row: IdempotencyKey, expired_before: datetime
) -> HeldKey | None:
    """Store `row` unless a live row holds its key already; None when stored, else the
    holder. Core on a plain connection: the run path builds no ORM objects.

    A concurrent request with the same key blocks on the primary key until the first one's
    insert is committed, then finds its row. A row older than `expired_before` is replaced.
    """
    values = {
        "tenant_id": row.tenant_id,
        "key": row.key,
        "fingerprint": row.fingerprint,
        "execution_id": row.execution_id,
        "response": row.response,
        "created_at": row.created_at,
    }
    new = insert(IdempotencyKey).values(**values)
    replaced = [name for name in values if name not in ("tenant_id", "key")]
    statement = new.on_conflict_do_update(
        index_elements=[IdempotencyKey.tenant_id, IdempotencyKey.key],
        set_={name: new.excluded[name] for name in replaced},
        where=IdempotencyKey.created_at < expired_before,
    ).returning(IdempotencyKey.execution_id)
    if (await connection.execute(statement)).one_or_none() is not None:
        return None
    params = {"tenant_id": row.tenant_id, "key": row.key}
    fingerprint, response = (await connection.execute(_HELD_KEY, params)).one()
    return HeldKey(fingerprint, response)


async def delete_expired_idempotency_keys(
    db: AsyncSession, expired_before: datetime, batch: int
) -> int:
    """Delete up to `batch` expired keys; returns how many went."""
    doomed = (
        select(IdempotencyKey.tenant_id, IdempotencyKey.key)
        .where(IdempotencyKey.created_at < expired_before)
        .limit(batch)
    )
    statement = delete(IdempotencyKey).where(
        tuple_(IdempotencyKey.tenant_id, IdempotencyKey.key).in_(doomed)
    )
    result = await db.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
