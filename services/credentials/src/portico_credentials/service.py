"""The credentials logic, without transport: create, update, list, delete, resolve.

Every request names its tenant and every query filters by it, so another tenant's credential is
`not_found`, exactly like a missing one. Secret values are validated and sealed before they
touch the database (crypto.py) and leave only in a `resolve` reply, after the grant the
orchestrator signed for this very execution, node and credential has been checked. Every
resolve, granted or denied, leaves an `access_audit` row; a granted one writes it in the same
transaction as the read, so no plaintext leaves without its audit row committed.

Errors are `RequestError`s carrying an RPC error code; their messages never hold a secret.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Literal

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from portico_contracts.credentials import (
    CREDENTIAL_ID_PATTERN,
    CheckSecret,
    CreateCredential,
    CredentialData,
    CredentialDataError,
    CredentialList,
    CredentialRequest,
    CredentialView,
    DeleteCredential,
    HmacSecret,
    ListCredentials,
    ResolveCredential,
    ResolvedCredential,
    UpdateCredential,
    parse_credential_data,
)
from portico_contracts.grants import CredentialGrant, GrantError, verify_grant
from portico_credentials import crypto, db, repository
from portico_credentials.keyring import KeyRing, UnknownKeyError
from portico_credentials.models import StoredCredential
from portico_credentials.repository import AccessRecord

logger = logging.getLogger("portico.credentials")

ErrorCode = Literal["not_found", "invalid_request", "conflict", "forbidden", "internal"]
_CREDENTIAL_ID = re.compile(CREDENTIAL_ID_PATTERN)


class RequestError(Exception):
    """The request cannot be served; `code` is the RPC error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


class GrantRefusedError(Exception):
    """A grant check failed: `reason` says which, for the reply and the audit."""

    def __init__(self, reason: str, attempt: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempt = attempt


def new_credential_id() -> str:
    return f"cred_{uuid.uuid4().hex}"


def _not_found(credential_id: str) -> RequestError:
    # The id is the caller's own input; repr() keeps odd characters visible and harmless.
    return RequestError("not_found", f"no credential {credential_id[:100]!r}")


def _conflict(name: str) -> RequestError:
    return RequestError("conflict", f"a credential named {name!r} exists already; pick another")


def _no_nul(**fields: str | None) -> None:
    """PostgreSQL's text cannot hold NUL: say which field has one instead of failing later."""
    for name, value in fields.items():
        if value is not None and "\x00" in value:
            raise RequestError("invalid_request", f"{name}: must not contain a NUL character")


def _parsed(credential_type: str, data: dict[str, Any]) -> CredentialData:
    try:
        return parse_credential_data(credential_type, data)
    except CredentialDataError as exc:  # its message lists fields and problems, never values
        raise RequestError("invalid_request", str(exc)) from None


def secret_matches(
    secret: HmacSecret, mode: Literal["token", "hmac"], payload: bytes, candidates: list[str]
) -> bool:
    key = secret.secret.encode()
    if mode == "token":
        expected = key
    else:
        expected = hmac.new(key, payload, secret.algorithm).hexdigest().encode()
    # Every candidate is compared, found or not, so timing tells nothing about which matched.
    found = False
    for candidate in candidates:
        given = candidate.strip().lower() if mode == "hmac" else candidate
        found |= hmac.compare_digest(expected, given.encode("utf-8", "surrogateescape"))
    return found


def check_grant(
    keys: tuple[Ed25519PublicKey, ...], request: ResolveCredential, now: float | None = None
) -> CredentialGrant:
    """The grant, if genuine, current and for exactly this request; else GrantRefusedError."""
    try:
        grant = verify_grant(keys, request.grant, now)
    except GrantError as exc:
        raise GrantRefusedError(str(exc)) from None
    mismatches = (
        ("tenant", grant.tenant_id, request.tenant_id),
        ("execution", grant.execution_id, request.execution_id),
        ("node", grant.node_id, request.node_id),
        ("credential", grant.credential_id, request.credential_id),
    )
    for what, granted, asked in mismatches:
        if granted != asked:
            raise GrantRefusedError(f"grant is for another {what}", grant.attempt)
    return grant


class CredentialService:
    def __init__(
        self,
        ring: KeyRing,
        verify_keys: tuple[Ed25519PublicKey, ...],
        pool: db.Pool,
        acquire_timeout_s: float = 5.0,
    ) -> None:
        self.ring = ring
        self.verify_keys = verify_keys
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[db.Connection]:
        async with db.transaction(self.pool, self.acquire_timeout_s) as conn:
            yield conn

    async def answer(self, request: CredentialRequest) -> BaseModel | dict[str, Any]:
        """The result of one request; raises RequestError when it cannot be served."""
        if isinstance(request, ResolveCredential):
            return await self.resolve(request)
        _no_nul(tenant_id=request.tenant_id)
        if isinstance(request, CreateCredential):
            return await self.create(request)
        if isinstance(request, UpdateCredential):
            return await self.update(request)
        if isinstance(request, ListCredentials):
            return await self.list_credentials(request)
        if isinstance(request, DeleteCredential):
            return {"deleted": await self.delete(request)}
        if isinstance(request, CheckSecret):
            return {"valid": await self.check_secret(request)}
        raise AssertionError(f"unhandled request {type(request).__name__}")

    async def create(self, request: CreateCredential) -> CredentialView:
        _no_nul(name=request.name)
        plaintext = crypto.plaintext_of(_parsed(request.type, request.data))
        credential_id = new_credential_id()
        sealed = crypto.seal(self.ring.active(), request.tenant_id, credential_id, plaintext)
        try:
            async with self._transaction() as conn:
                stored = await repository.insert(
                    conn, request.tenant_id, credential_id, request.name, request.type, sealed
                )
        except asyncpg.UniqueViolationError:
            raise _conflict(request.name) from None
        return stored.view()

    async def update(self, request: UpdateCredential) -> CredentialView:
        if request.name is None and request.data is None:
            raise RequestError("invalid_request", "nothing to change: give name, data or both")
        _no_nul(name=request.name)
        if not _CREDENTIAL_ID.match(request.credential_id):
            raise _not_found(request.credential_id)
        try:
            async with self._transaction() as conn:
                stored = await repository.get(
                    conn, request.tenant_id, request.credential_id, for_update=True
                )
                if stored is None:
                    raise _not_found(request.credential_id)
                changed = self._changed(stored, request)
                return (await repository.update(conn, changed)).view()
        except asyncpg.UniqueViolationError:
            raise _conflict(request.name or "") from None

    def _changed(self, stored: StoredCredential, request: UpdateCredential) -> StoredCredential:
        sealed = stored.sealed
        if request.data is not None:
            # A new value gets a fresh data key and nonces; the old seal is simply replaced.
            plaintext = crypto.plaintext_of(_parsed(stored.type, request.data))
            sealed = crypto.seal(self.ring.active(), stored.tenant_id, stored.id, plaintext)
        return replace(stored, name=request.name or stored.name, sealed=sealed)

    async def list_credentials(self, request: ListCredentials) -> CredentialList:
        ids = None
        if request.ids is not None:
            ids = [i for i in request.ids if _CREDENTIAL_ID.match(i)]
        async with self._transaction() as conn:
            rows = await repository.list_for_tenant(conn, request.tenant_id, request.type, ids)
        return CredentialList(items=[row.view() for row in rows])

    async def delete(self, request: DeleteCredential) -> bool:
        if not _CREDENTIAL_ID.match(request.credential_id):
            raise _not_found(request.credential_id)
        async with self._transaction() as conn:
            deleted = await repository.delete(conn, request.tenant_id, request.credential_id)
        if not deleted:
            raise _not_found(request.credential_id)
        return True

    def _opened(self, stored: StoredCredential) -> dict[str, Any] | None:
        """The row's plaintext data, or None (logged) when it does not open with the ring."""
        try:
            return crypto.open_data(
                self.ring.key(stored.sealed.kid), stored.sealed, stored.tenant_id, stored.id
            )
        except (crypto.SealBrokenError, UnknownKeyError) as exc:
            logger.error("credential %s cannot be opened: %s", stored.id, exc)
            return None

    async def check_secret(self, request: CheckSecret) -> bool:
        if not _CREDENTIAL_ID.match(request.credential_id):
            raise _not_found(request.credential_id)
        async with self._transaction() as conn:
            stored = await repository.get(conn, request.tenant_id, request.credential_id)
        if stored is None:
            raise _not_found(request.credential_id)
        if stored.type != "hmac_secret":
            reason = f"credential {stored.id} is {stored.type}; a signed webhook needs hmac_secret"
            raise RequestError("invalid_request", reason)
        data = self._opened(stored)
        if data is None:
            raise _cannot_open()
        secret = HmacSecret.model_validate(data)
        return secret_matches(secret, request.mode, request.payload, request.candidates)

    async def resolve(self, request: ResolveCredential) -> ResolvedCredential:
        try:
            grant = check_grant(self.verify_keys, request)
        except GrantRefusedError as refused:
            async with self._transaction() as conn:
                await repository.audit(conn, _record(request, "denied", refused.reason, refused))
            raise RequestError("forbidden", refused.reason) from None
        async with self._transaction() as conn:
            outcome = await self._read_audited(conn, request, grant)
        if isinstance(outcome, RequestError):
            raise outcome
        return outcome

    async def _read_audited(
        self, conn: db.Connection, request: ResolveCredential, grant: CredentialGrant
    ) -> ResolvedCredential | RequestError:
        """Read and open the row, auditing the outcome in the caller's transaction. Returns
        (rather than raises) a refusal, so that its audit row still commits."""
        stored = None
        if _CREDENTIAL_ID.match(request.credential_id):
            stored = await repository.get(conn, request.tenant_id, request.credential_id)
        if stored is None:
            reason = "no such credential for this tenant"
            await repository.audit(conn, _record(request, "denied", reason, grant))
            return _not_found(request.credential_id)
        data = self._opened(stored)
        if data is None:
            reason = f"the stored credential cannot be opened (key '{stored.sealed.kid}')"
            await repository.audit(conn, _record(request, "denied", reason, grant))
            return _cannot_open()
        await repository.audit(conn, _record(request, "granted", "grant verified", grant))
        return ResolvedCredential(id=stored.id, type=stored.type, data=data)


def _cannot_open() -> RequestError:
    return RequestError("internal", "the credential cannot be opened; see the service log")


def _record(
    request: ResolveCredential,
    outcome: Literal["granted", "denied"],
    reason: str,
    source: CredentialGrant | GrantRefusedError,
) -> AccessRecord:
    return AccessRecord(
        tenant_id=request.tenant_id,
        credential_id=request.credential_id,
        execution_id=request.execution_id,
        node_id=request.node_id,
        # Only a grant whose signature verified can vouch for an attempt number.
        attempt=source.attempt,
        requester=request.requester,
        outcome=outcome,
        reason=reason,
    )
