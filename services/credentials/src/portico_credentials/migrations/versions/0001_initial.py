"""credentials: sealed credentials and the access audit

Revision ID: cred_0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cred_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "credentials"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("kid", sa.Text, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("key_nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("data_nonce", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_credentials_tenant_name"),
        schema=S,
    )
    op.create_table(
        "access_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("credential_id", sa.Text, nullable=False),
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("node_id", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer),
        sa.Column("requester", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.CheckConstraint("outcome IN ('granted', 'denied')", name="ck_access_audit_outcome"),
        schema=S,
    )
    op.create_index(
        "ix_access_audit_credential_at", "access_audit", ["credential_id", "at"], schema=S
    )
    op.create_index("ix_access_audit_tenant_at", "access_audit", ["tenant_id", "at"], schema=S)


def downgrade() -> None:
    op.drop_table("access_audit", schema=S)
    op.drop_table("credentials", schema=S)
