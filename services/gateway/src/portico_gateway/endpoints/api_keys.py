"""API keys: the secret is in the creation response only; the server keeps its sha256."""

from __future__ import annotations

from fastapi import APIRouter, Response

from portico_gateway import service
from portico_gateway.dependencies import DB, CurrentPrincipal
from portico_gateway.models import ApiKey
from portico_gateway.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyView

router = APIRouter(prefix="/api/api-keys", tags=["api keys"])


def _view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
    )


@router.post("", status_code=201)
async def create_api_key(body: ApiKeyCreate, db: DB, principal: CurrentPrincipal) -> ApiKeyCreated:
    """Create a key; use it as `Authorization: Bearer <secret>`. Store the secret now."""
    key, secret = await service.create_api_key(db, principal, body.name)
    return ApiKeyCreated(**_view(key).model_dump(), secret=secret)


@router.get("")
async def list_api_keys(db: DB, principal: CurrentPrincipal) -> list[ApiKeyView]:
    return [_view(key) for key in await service.list_api_keys(db, principal)]


@router.delete("/{key_id}", status_code=204)
async def revoke_api_key(key_id: str, db: DB, principal: CurrentPrincipal) -> Response:
    """Revoke a key: it stops authenticating at once."""
    await service.revoke_api_key(db, principal, key_id)
    return Response(status_code=204)
