"""Per-request plumbing: the gateway's shared state, the database session, the caller.

One transaction per request: the session dependency commits after the endpoint returns and
before the response leaves (`scope="function"`), so a client that got a 2xx can read what it
wrote, and a failed commit still turns into an error response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.requests import HTTPConnection
from faststream.rabbit import RabbitBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from portico_gateway import service
from portico_gateway.ai_client import AiClient
from portico_gateway.config import Settings
from portico_gateway.credentials_client import CredentialsClient
from portico_gateway.errors import UnauthenticatedError
from portico_gateway.hub import StatusHub
from portico_gateway.metrics import Metrics
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.rate_limits import RateLimits
from portico_gateway.runs import IDEMPOTENCY_HEADER
from portico_gateway.security import PasswordHashing
from portico_gateway.service import Principal
from portico_gateway.workflow_credentials import CredentialLookup


@dataclass
class GatewayState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: RabbitBroker
    orchestrator: OrchestratorClient
    credentials: CredentialsClient
    ai: AiClient
    hub: StatusHub
    metrics: Metrics
    rate_limits: RateLimits
    passwords: PasswordHashing


def gateway_state(connection: HTTPConnection) -> GatewayState:
    state: GatewayState = connection.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(gateway_state)]


async def db_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


DB = Annotated[AsyncSession, Depends(db_session, scope="function")]


def client_address(connection: HTTPConnection) -> str:
    """The peer's address as uvicorn reports it (from X-Forwarded-For behind a trusted proxy)."""
    return connection.client.host if connection.client else "unknown"


def bearer_token(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <key>` header, if that is what it is."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


async def authenticate(
    db: AsyncSession, authorization: str | None, session_token: str | None
) -> Principal | None:
    """An Authorization header, when sent, decides alone: a bad key is not rescued by a cookie."""
    if authorization:
        key = bearer_token(authorization)
        return None if key is None else await service.principal_from_api_key(db, key)
    if session_token:
        return await service.principal_from_session(db, session_token)
    return None


async def current_principal(request: Request, db: DB, state: State) -> Principal:
    principal = await authenticate(
        db,
        request.headers.get("authorization"),
        request.cookies.get(state.settings.session_cookie_name),
    )
    if principal is None:
        raise UnauthenticatedError(
            "not signed in: log in at POST /api/auth/login "
            "or send 'Authorization: Bearer <api key>'"
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def credential_lookup(db: DB, principal: CurrentPrincipal, state: State) -> CredentialLookup:
    """How a workflow save learns the types of the credentials its nodes name (this tenant's
    only: another tenant's credential is simply absent from the answer)."""

    async def types_of(ids: list[str]) -> dict[str, str]:
        await db.commit()  # release the connection while the credentials service answers
        found = await state.credentials.list_credentials(principal.tenant_id, ids=ids)
        return {view.id: view.type for view in found}

    return types_of


CredentialTypes = Annotated[CredentialLookup, Depends(credential_lookup)]


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description=(
            "Any unique string (1-255 visible ASCII characters, e.g. a UUID). Repeating a "
            "request with the same key within 24 h returns the first answer and starts "
            "nothing new; the same key with a different request is a 422. Run and retry "
            "requests share one space of keys."
        ),
    ),
]
