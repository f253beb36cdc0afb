"""orchestrator: executions, node runs, events, outbox, timers

Revision ID: orch_0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "orch_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orchestrator"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "executions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("workflow_id", sa.Text, nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("trigger_node_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("graph", JSONB, nullable=False),
        sa.Column("payload", JSONB),
        sa.Column("node_state", JSONB, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", JSONB),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        schema=S,
    )
    op.create_index(
        "ix_executions_tenant_created",
        "executions",
        ["tenant_id", "created_at", "id"],
        schema=S,
    )
    op.create_index(
        "ix_executions_tenant_workflow",
        "executions",
        ["tenant_id", "workflow_id", "created_at", "id"],
        schema=S,
    )
    op.create_index(
        "ix_executions_tenant_status",
        "executions",
        ["tenant_id", "status", "created_at", "id"],
        schema=S,
    )
    op.create_table(
        "node_runs",
        sa.Column(
            "execution_id",
            sa.Text,
            sa.ForeignKey(f"{S}.executions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("node_id", sa.Text, primary_key=True),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("node_type", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("input", JSONB),
        sa.Column("output", JSONB),
        sa.Column("error", JSONB),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        schema=S,
    )
    op.create_table(
        "events",
        sa.Column(
            "execution_id",
            sa.Text,
            sa.ForeignKey(f"{S}.executions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("node_id", sa.Text),
        sa.Column("at", TS, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        schema=S,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("exchange", sa.Text, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("headers", JSONB),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "timers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "execution_id",
            sa.Text,
            sa.ForeignKey(f"{S}.executions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("node_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("dispatched_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("execution_id", "node_id", name="uq_timers_node"),
        schema=S,
    )
    op.create_index("ix_timers_due", "timers", ["due_at"], schema=S)


def downgrade() -> None:
    for table in ("timers", "outbox", "events", "node_runs", "executions"):
        op.drop_table(table, schema=S)
