"""orchestrator: tokens and cost an execution's AI node runs spent

Revision ID: orch_0003
Revises: orch_0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orch_0003"
down_revision: str | None = "orch_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orchestrator"


def upgrade() -> None:
    # Summed over every attempt that reported usage (a failed or retried one spent tokens too).
    for name in ("input_tokens", "output_tokens", "total_tokens"):
        op.add_column(
            "executions",
            sa.Column(name, sa.BigInteger, nullable=False, server_default="0"),
            schema=S,
        )
    op.add_column(
        "executions",
        sa.Column("cost_usd", sa.Numeric(18, 8), nullable=False, server_default="0"),
        schema=S,
    )


def downgrade() -> None:
    for name in ("cost_usd", "total_tokens", "output_tokens", "input_tokens"):
        op.drop_column("executions", name, schema=S)
