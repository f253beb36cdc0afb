"""Credentials: typed secrets, sealed and kept by the credentials service.

The gateway checks a value against its type, forwards it and drops it: it never stores or
logs one, and every answer carries metadata only. A refused body is never echoed back (see
errors.py: validation errors name fields, never quote input).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from portico_contracts.credentials import CredentialType, CredentialView
from portico_gateway.credential_types import CATALOGUE, check_data
from portico_gateway.dependencies import DB, CurrentPrincipal, State
from portico_gateway.errors import InvalidRequestError
from portico_gateway.schemas import CredentialCreate, CredentialTypeView, CredentialUpdate

router = APIRouter(prefix="/api", tags=["credentials"])

CredentialId = Annotated[str, Path(max_length=100, examples=["cred_" + "0" * 32])]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "the credentials service is unreachable; see Retry-After"}
}


@router.get("/credential-types")
async def credential_types(_: CurrentPrincipal) -> list[CredentialTypeView]:
    """Every credential type with the JSON schema of its `data` (secret fields are writeOnly,
    format password) and the node types that take it."""
    return CATALOGUE


@router.post("/credentials", status_code=201, responses=UNAVAILABLE)
async def create_credential(
    body: CredentialCreate, db: DB, principal: CurrentPrincipal, state: State
) -> CredentialView:
    """Seal a new credential. `data` is write-only: no response ever shows it again."""
    check_data(body.type, body.data)
    await db.commit()  # release the connection before waiting on the credentials service
    return await state.credentials.create(principal.tenant_id, body.name, body.type, body.data)


@router.get("/credentials", responses=UNAVAILABLE)
async def list_credentials(
    db: DB, principal: CurrentPrincipal, state: State, type: CredentialType | None = None
) -> list[CredentialView]:
    """The caller's credentials (metadata only), optionally of one type."""
    await db.commit()
    return await state.credentials.list_credentials(principal.tenant_id, credential_type=type)


@router.get("/credentials/{credential_id}", responses=UNAVAILABLE)
async def get_credential(
    credential_id: CredentialId, db: DB, principal: CurrentPrincipal, state: State
) -> CredentialView:
    await db.commit()
    return await state.credentials.get(principal.tenant_id, credential_id)


@router.put("/credentials/{credential_id}", responses=UNAVAILABLE)
async def update_credential(
    credential_id: CredentialId,
    body: CredentialUpdate,
    db: DB,
    principal: CurrentPrincipal,
    state: State,
) -> CredentialView:
    """Rename it, replace its secret `data` (of the same type), or both."""
    if body.name is None and body.data is None:
        raise InvalidRequestError("nothing to change: give name, data or both")
    await db.commit()
    credentials = state.credentials
    if body.data is not None:
        current = await credentials.get(principal.tenant_id, credential_id)
        check_data(current.type, body.data)
    return await credentials.update(
        principal.tenant_id, credential_id, name=body.name, data=body.data
    )


@router.delete("/credentials/{credential_id}", status_code=204, responses=UNAVAILABLE)
async def delete_credential(
    credential_id: CredentialId, db: DB, principal: CurrentPrincipal, state: State
) -> Response:
    """Delete it for good. Workflows naming it fail at that node until they name another."""
    await db.commit()
    await state.credentials.delete(principal.tenant_id, credential_id)
    return Response(status_code=204)
