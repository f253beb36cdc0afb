"""Tables of the `gateway` schema. Every row carries `tenant_id` and every query filters by it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "gateway"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


def _id() -> Mapped[str]:
    return mapped_column(Uuid(as_uuid=False), primary_key=True, default=new_uuid)


def _tenant() -> Mapped[str]:
    return mapped_column(Uuid(as_uuid=False), nullable=False)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = _id()
    # A user is its own tenant for now; the column lets organisations come later unchanged.
    tenant_id: Mapped[str] = _tenant()
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = _created()


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = _tenant()
    user_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    # sha256 of the cookie value: a leaked table does not let anyone log in.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = _tenant()
    user_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Revoked keys stay for the audit trail but never authenticate again.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (
        Index(
            "ix_workflows_tenant_live",
            "tenant_id",
            "updated_at",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = _id()
    tenant_id: Mapped[str] = _tenant()
    # Copied from the latest version so listing never reads graphs.
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    latest_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Activation: its webhook, cron and event triggers listen; `active_version` is the
    # version whose triggers the orchestrator was last told about.
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    active_version: Mapped[int | None] = mapped_column(Integer)
    # Activation changes so far; each message to the orchestrator carries the new count.
    activation_sequence: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=text("0")
    )


class WorkflowVersion(Base):
    """Immutable: rows are only ever inserted; executions point at (workflow_id, version)."""

    __tablename__ = "workflow_versions"

    workflow_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False),
        ForeignKey("workflows.id", ondelete="CASCADE"),
        primary_key=True,
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = _tenant()
    graph: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _created()
    created_by: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))


class IdempotencyKey(Base):
    """A run request's `Idempotency-Key`: the same key again within the TTL gets the same
    answer (the same execution) instead of starting another one."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index(None, "created_at"),)

    # The primary key is what makes concurrent identical requests safe: the second insert
    # waits for the first to commit, then finds its row.
    tenant_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # sha256 of the workflow id and the normalized body: the same key with another request
    # is refused, not answered with the first request's execution.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    execution_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), nullable=False)
    # The 202 body as first sent, returned unchanged to every repeat.
    response: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _created()


class WebhookRoute(Base):
    """Which active workflow answers `/hooks/{path}`. The path is the primary key: one owner
    across all tenants, so two activations racing for a path cannot both win."""

    __tablename__ = "webhook_routes"
    __table_args__ = (Index(None, "workflow_id"),)

    path: Mapped[str] = mapped_column(String(200), primary_key=True)
    tenant_id: Mapped[str] = _tenant()
    workflow_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False
    )
    node_id: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created()


class WebhookTestListener(Base):
    """Someone waits for one request to `/hooks/test/{path}` until `expires_at`. A row, not
    memory, so whichever gateway replica receives the request finds the listener."""

    __tablename__ = "webhook_test_listeners"
    __table_args__ = (Index(None, "path"),)

    workflow_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = _tenant()
    path: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The request caught and the execution it started; null while still listening.
    # none_as_null: "not caught yet" must be SQL NULL (`IS NULL`), not the JSON value null.
    request: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    execution_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    created_at: Mapped[datetime] = _created()
