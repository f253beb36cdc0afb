"""SQL on the `credentials` schema. Every read of a credential filters by tenant; transactions
are opened and committed by the caller, never here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, cast

from portico_contracts.credentials import CredentialType
from portico_contracts.sql import Connection, Query, Record
from portico_credentials.crypto import Sealed
from portico_credentials.models import StoredCredential

_COLUMNS = (
    "id, tenant_id, name, type, kid, wrapped_key, key_nonce, ciphertext, data_nonce, "
    "created_at, updated_at"
)
_GET_SQL = f"SELECT {_COLUMNS} FROM credentials.credentials WHERE id = :id AND tenant_id = :t"
_GET = Query(_GET_SQL)
_GET_FOR_UPDATE = Query(f"{_GET_SQL} FOR UPDATE")
_INSERT = Query(
    f"""
    INSERT INTO credentials.credentials ({_COLUMNS})
    VALUES (:id, :t, :name, :type, :kid, :wrapped_key, :key_nonce, :ciphertext, :data_nonce,
            now(), now())
    RETURNING created_at, updated_at
    """
)
_UPDATE = Query(
    """
    UPDATE credentials.credentials
    SET name = :name, kid = :kid, wrapped_key = :wrapped_key, key_nonce = :key_nonce,
        ciphertext = :ciphertext, data_nonce = :data_nonce, updated_at = now()
    WHERE id = :id AND tenant_id = :t
    RETURNING updated_at
    """
)
_DELETE = Query("DELETE FROM credentials.credentials WHERE id = :id AND tenant_id = :t")
_LIST = Query(
    f"""
    SELECT {_COLUMNS} FROM credentials.credentials
    WHERE tenant_id = :t
      AND (CAST(:type AS text) IS NULL OR type = :type)
      AND (CAST(:ids AS text[]) IS NULL OR id = ANY(CAST(:ids AS text[])))
    ORDER BY name, id
    """
)
_AUDIT = Query(
    """
    INSERT INTO credentials.access_audit
        (tenant_id, credential_id, execution_id, node_id, attempt, requester, outcome, reason)
    VALUES (:t, :credential_id, :execution_id, :node_id, :attempt, :requester, :outcome, :reason)
    """
)
# Rotation: rows not under the active key, a few at a time, skipping rows a request holds.
_NOT_UNDER = Query(
    """
    SELECT id, tenant_id, kid, wrapped_key, key_nonce FROM credentials.credentials
    WHERE kid <> :active AND id <> ALL(CAST(:skip AS text[]))
    ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
)
_COUNT_NOT_UNDER = Query(
    """
    SELECT count(*) FROM credentials.credentials
    WHERE kid <> :active AND id <> ALL(CAST(:skip AS text[]))
    """
)
_REWRAP = Query(
    """
    UPDATE credentials.credentials SET kid = :kid, wrapped_key = :wrapped_key,
        key_nonce = :key_nonce
    WHERE id = :id
    """
)
_KIDS_IN_USE = Query("SELECT DISTINCT kid FROM credentials.credentials")


def _stored(row: Record) -> StoredCredential:
    return StoredCredential(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        type=cast(CredentialType, row["type"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sealed=Sealed(
            kid=row["kid"],
            wrapped_key=row["wrapped_key"],
            key_nonce=row["key_nonce"],
            ciphertext=row["ciphertext"],
            data_nonce=row["data_nonce"],
        ),
    )


def _sealed_params(sealed: Sealed) -> dict[str, object]:
    return {
        "kid": sealed.kid,
        "wrapped_key": sealed.wrapped_key,
        "key_nonce": sealed.key_nonce,
        "ciphertext": sealed.ciphertext,
        "data_nonce": sealed.data_nonce,
    }


async def get(
    conn: Connection, tenant_id: str, credential_id: str, *, for_update: bool = False
) -> StoredCredential | None:
    query = _GET_FOR_UPDATE if for_update else _GET
    row = await query.fetchrow(conn, id=credential_id, t=tenant_id)
    return _stored(row) if row is not None else None


async def insert(
    conn: Connection,
    tenant_id: str,
    credential_id: str,
    name: str,
    credential_type: CredentialType,
    sealed: Sealed,
) -> StoredCredential:
    """Raises asyncpg's UniqueViolationError when the tenant has that name already."""
    params = {"id": credential_id, "t": tenant_id, "name": name, "type": credential_type}
    row = await _INSERT.fetchrow(conn, **params, **_sealed_params(sealed))
    assert row is not None  # RETURNING always yields the inserted row
    return StoredCredential(
        id=credential_id,
        tenant_id=tenant_id,
        name=name,
        type=credential_type,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sealed=sealed,
    )


async def update(conn: Connection, stored: StoredCredential) -> StoredCredential:
    """Write name and seal of a row the caller locked; raises UniqueViolationError on a name
    the tenant already uses."""
    updated_at = await _UPDATE.fetchval(
        conn, id=stored.id, t=stored.tenant_id, name=stored.name, **_sealed_params(stored.sealed)
    )
    return replace(stored, updated_at=updated_at)


async def delete(conn: Connection, tenant_id: str, credential_id: str) -> bool:
    status = await _DELETE.execute(conn, id=credential_id, t=tenant_id)
    return status.endswith(" 1")


async def list_for_tenant(
    conn: Connection, tenant_id: str, credential_type: str | None, ids: list[str] | None
) -> list[StoredCredential]:
    rows = await _LIST.fetch(conn, t=tenant_id, type=credential_type, ids=ids)
    return [_stored(row) for row in rows]


@dataclass(frozen=True)
class AccessRecord:
    tenant_id: str
    credential_id: str
    execution_id: str
    node_id: str
    attempt: int | None
    requester: str
    outcome: Literal["granted", "denied"]
    reason: str


def _text(value: str) -> str:
    # PostgreSQL's text cannot hold NUL; an audit row must be written whatever was sent.
    return value.replace("\x00", "\ufffd")


async def audit(conn: Connection, record: AccessRecord) -> None:
    await _AUDIT.execute(
        conn,
        t=_text(record.tenant_id),
        credential_id=_text(record.credential_id),
        execution_id=_text(record.execution_id),
        node_id=_text(record.node_id),
        attempt=record.attempt,
        requester=_text(record.requester),
        outcome=record.outcome,
        reason=_text(record.reason),
    )


@dataclass(frozen=True)
class WrappedKey:
    """What rotation touches of a row: only its data key's wrapping."""

    id: str
    tenant_id: str
    sealed: Sealed


async def lock_not_under(
    conn: Connection, active_kid: str, skip: list[str], limit: int
) -> list[WrappedKey]:
    rows = await _NOT_UNDER.fetch(conn, active=active_kid, skip=skip, limit=limit)
    return [
        WrappedKey(
            row["id"],
            row["tenant_id"],
            # Rotation never reads the ciphertext; it stays as it is in the row.
            Sealed(row["kid"], row["wrapped_key"], row["key_nonce"], b"", b""),
        )
        for row in rows
    ]


async def count_not_under(conn: Connection, active_kid: str, skip: list[str]) -> int:
    count: int = await _COUNT_NOT_UNDER.fetchval(conn, active=active_kid, skip=skip)
    return count


async def set_wrapping(conn: Connection, credential_id: str, sealed: Sealed) -> None:
    await _REWRAP.execute(
        conn,
        id=credential_id,
        kid=sealed.kid,
        wrapped_key=sealed.wrapped_key,
        key_nonce=sealed.key_nonce,
    )


async def kids_in_use(conn: Connection) -> set[str]:
    return {row["kid"] for row in await _KIDS_IN_USE.fetch(conn)}
