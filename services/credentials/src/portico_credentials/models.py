"""Tables of the `credentials` schema (SQLAlchemy Core; the migrations create them).

`credentials` holds sealed rows only (see crypto.py): the name and type are metadata, the
secret is `ciphertext` under a data key that is itself wrapped (`wrapped_key`) by the ring key
`kid`. `access_audit` records every resolve, granted or denied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from portico_contracts.credentials import CredentialType, CredentialView
from portico_credentials.crypto import Sealed

SCHEMA = "credentials"

metadata = sa.MetaData(schema=SCHEMA)

_TS = sa.DateTime(timezone=True)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # cred_<32 hex>
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("kid", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("key_nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("data_nonce", sa.LargeBinary, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    # Also the index a tenant's list reads, in name order.
    sa.UniqueConstraint("tenant_id", "name", name="uq_credentials_tenant_name"),
)

access_audit = sa.Table(
    "access_audit",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),  # bigserial
    sa.Column("at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("credential_id", sa.Text, nullable=False),
    sa.Column("execution_id", sa.Text, nullable=False),
    sa.Column("node_id", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer),  # from the grant, when it verified
    sa.Column("requester", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.CheckConstraint("outcome IN ('granted', 'denied')", name="ck_access_audit_outcome"),
    sa.Index("ix_access_audit_credential_at", "credential_id", "at"),
    sa.Index("ix_access_audit_tenant_at", "tenant_id", "at"),
)


@dataclass(frozen=True)
class StoredCredential:
    """One row; `sealed` has no readable secret and keeps its bytes out of repr."""

    id: str
    tenant_id: str
    name: str
    type: CredentialType
    created_at: datetime
    updated_at: datetime
    sealed: Sealed = field(repr=False)

    def view(self) -> CredentialView:
        return CredentialView(
            id=self.id,
            name=self.name,
            type=self.type,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )
