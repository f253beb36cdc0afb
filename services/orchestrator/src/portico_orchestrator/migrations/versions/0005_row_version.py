"""orchestrator: a version on each execution row, bumped by every save

Revision ID: orch_0005
Revises: orch_0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "orch_0005"
down_revision: str | None = "orch_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orchestrator"


def upgrade() -> None:
    # A save made without the row lock (the hot path's) only takes effect while the row is
    # still at the version its replica last saved.
    op.add_column(
        "executions",
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_column("executions", "version", schema=S)
