"""orchestrator: the active workflows' cron and event triggers

Revision ID: orch_0004
Revises: orch_0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "orch_0004"
down_revision: str | None = "orch_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orchestrator"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # One row per workflow ever activated or deactivated: the last change applied (kept after
    # deactivation, so a late activation cannot bring old triggers back) and the graph.
    op.create_table(
        "trigger_workflows",
        sa.Column("workflow_id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False),
        # The gateway's count of activation changes last applied (see messages.py).
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("graph", JSONB),
        sa.Column("updated_at", TS, nullable=False),
        schema=S,
    )
    op.create_table(
        "triggers",
        sa.Column(
            "workflow_id",
            sa.Text,
            sa.ForeignKey(f"{S}.trigger_workflows.workflow_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("node_id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("config", JSONB, nullable=False),
        sa.Column("next_fire_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('cron', 'event', 'webhook')", name="triggers_kind"),
        sa.CheckConstraint(
            "(kind = 'cron') = (next_fire_at IS NOT NULL)", name="triggers_cron_next_fire"
        ),
        schema=S,
    )
    # The cron loop's claim: the earliest due schedule.
    op.create_index(
        "triggers_due",
        "triggers",
        ["next_fire_at"],
        schema=S,
        postgresql_where=sa.text("kind = 'cron'"),
    )
    op.create_index("triggers_kind", "triggers", ["kind"], schema=S)
    op.create_index("triggers_tenant", "triggers", ["tenant_id", "kind"], schema=S)


def downgrade() -> None:
    op.drop_table("triggers", schema=S)
    op.drop_table("trigger_workflows", schema=S)
