"""orchestrator: outbox ownership and backoff, watchdog index, dead letters, retries of executions

Revision ID: orch_0002
Revises: orch_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "orch_0002"
down_revision: str | None = "orch_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orchestrator"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Outbox rows belong to the replica that wrote them until it is gone (its advisory lock
    # is free); failed publishes back off instead of being retried at the head of the table.
    op.execute(f"CREATE SEQUENCE {S}.outbox_owner_seq AS integer CYCLE")
    op.add_column("outbox", sa.Column("owner", sa.Integer), schema=S)
    op.add_column(
        "outbox", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"), schema=S
    )
    op.add_column(
        "outbox",
        sa.Column("next_attempt_at", TS, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.add_column("outbox", sa.Column("last_error", sa.Text), schema=S)
    op.create_index("ix_outbox_next_attempt", "outbox", ["next_attempt_at", "id"], schema=S)

    # The watchdog scans unfinished executions only.
    op.create_index(
        "ix_executions_unfinished",
        "executions",
        ["created_at"],
        schema=S,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.add_column("executions", sa.Column("retry_of", sa.Text), schema=S)
    # Concurrency limits count running executions per tenant and workflow, and admit the
    # queued ones oldest first.
    op.add_column("executions", sa.Column("max_concurrency", sa.Integer), schema=S)
    op.create_index(
        "ix_executions_running",
        "executions",
        ["tenant_id", "workflow_id"],
        schema=S,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "ix_executions_queued",
        "executions",
        ["tenant_id", "created_at", "id"],
        schema=S,
        postgresql_where=sa.text("status = 'queued'"),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("tenant_id", sa.Text),
        sa.Column("execution_id", sa.Text),
        sa.Column("node_id", sa.Text),
        sa.Column("queue", sa.Text),
        sa.Column("exchange", sa.Text),
        sa.Column("routing_key", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("body_excerpt", sa.Text),
        sa.Column("headers", JSONB),
        schema=S,
    )
    op.create_index("ix_dead_letters_tenant", "dead_letters", ["tenant_id", "id"], schema=S)
    op.create_index("ix_dead_letters_execution", "dead_letters", ["execution_id"], schema=S)


def downgrade() -> None:
    op.drop_table("dead_letters", schema=S)
    op.drop_index("ix_executions_queued", "executions", schema=S)
    op.drop_index("ix_executions_running", "executions", schema=S)
    op.drop_column("executions", "max_concurrency", schema=S)
    op.drop_column("executions", "retry_of", schema=S)
    op.drop_index("ix_executions_unfinished", "executions", schema=S)
    op.drop_index("ix_outbox_next_attempt", "outbox", schema=S)
    for column in ("last_error", "next_attempt_at", "attempts", "owner"):
        op.drop_column("outbox", column, schema=S)
    op.execute(f"DROP SEQUENCE {S}.outbox_owner_seq")
