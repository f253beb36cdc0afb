"""gateway: workflow activation, webhook routes and webhook test listeners

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workflows",
        sa.Column("active", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="gateway",
    )
    op.add_column("workflows", sa.Column("active_version", sa.Integer()), schema="gateway")
    op.add_column(
        "workflows",
        sa.Column("activation_sequence", sa.BigInteger(), server_default="0", nullable=False),
        schema="gateway",
    )
    op.create_table(
        "webhook_routes",
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("workflow_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("node_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["gateway.workflows.id"],
            name=op.f("fk_webhook_routes_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_webhook_routes")),
        schema="gateway",
    )
    op.create_index(
        op.f("ix_webhook_routes_workflow_id"), "webhook_routes", ["workflow_id"], schema="gateway"
    )
    op.create_table(
        "webhook_test_listeners",
        sa.Column("workflow_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("tenant_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text())),
        sa.Column("execution_id", sa.Uuid(as_uuid=False)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["gateway.workflows.id"],
            name=op.f("fk_webhook_test_listeners_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", name=op.f("pk_webhook_test_listeners")),
        schema="gateway",
    )
    op.create_index(
        op.f("ix_webhook_test_listeners_path"),
        "webhook_test_listeners",
        ["path"],
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_webhook_test_listeners_path"), table_name="webhook_test_listeners", schema="gateway"
    )
    op.drop_table("webhook_test_listeners", schema="gateway")
    op.drop_index(
        op.f("ix_webhook_routes_workflow_id"), table_name="webhook_routes", schema="gateway"
    )
    op.drop_table("webhook_routes", schema="gateway")
    op.drop_column("workflows", "activation_sequence", schema="gateway")
    op.drop_column("workflows", "active_version", schema="gateway")
    op.drop_column("workflows", "active", schema="gateway")
