"""Per-request plumbing: the gateway's shared state, the database session, the caller.

One transaction per request: the session dependency commits after the endpoint returns and
before the response leaves (`scope="function"`), so a client that got a 2xx can read what it
wrote, and a failed commit still turns into an error response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.requests import HTTPConnection
from faststream.rabbit import RabbitBroker
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from portico_gateway.ai_client import AiClient
from portico_gateway.config import Settings
from portico_gateway.credentials_client import CredentialsClient
from portico_gateway.db_failures import on_live_connection
from portico_gateway.errors import UnauthenticatedError
from portico_gateway.graph_cache import GraphCache
from portico_gateway.hub import StatusHub
from portico_gateway.metrics import Metrics
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.principals import Caller, Credential, find_caller
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
    # The same pool in autocommit mode: a lone read needs no BEGIN/COMMIT round trips.
    reads: AsyncEngine = field(init=False)
    graphs: GraphCache = field(init=False)

    def __post_init__(self) -> None:
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.graphs = GraphCache(self.settings.graph_cache_entries)


def state_of(connection: HTTPConnection) -> GatewayState:
    state: GatewayState = connection.app.state.gateway
    return state


async def gateway_state(connection: HTTPConnection) -> GatewayState:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    return state_of(connection)


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


def credential_of(authorization: str | None, session_token: str | None) -> Credential | None:
    """An Authorization header, when sent, decides alone: a bad key is not rescued by a cookie."""
    if authorization:
        key = bearer_token(authorization)
        return None if key is None else Credential("api_key", key)
    if session_token:
        return Credential("session", session_token)
    return None


async def identify(
    state: GatewayState, credential: Credential | None, workflow_id: str | None = None
) -> Caller | None:
    """The caller (see principals.find_caller): one statement on an autocommit connection,
    run again once on a fresh connection if the pooled one turns out dead."""
    if credential is None:
        return None

    async def lookup(connection: AsyncConnection) -> Caller | None:
        return await find_caller(connection, credential, workflow_id)

    return await on_live_connection(state.reads, lookup)


def unauthenticated() -> UnauthenticatedError:
    return UnauthenticatedError(
        "not signed in: log in at POST /api/auth/login or send 'Authorization: Bearer <api key>'"
    )


def request_credential(request: Request, state: GatewayState) -> Credential | None:
    return credential_of(
        request.headers.get("authorization"),
        request.cookies.get(state.settings.session_cookie_name),
    )


async def current_principal(request: Request, state: State) -> Principal:
    caller = await identify(state, request_credential(request, state))
    if caller is None:
        raise unauthenticated()
    return caller.principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def run_caller(request: Request, state: State) -> Caller:
    """The caller of `POST /api/workflows/{workflow_id}/run`, with that workflow's latest
    version, in one statement. The raw path parameter is read here (not validated by
    FastAPI) so a caller who is not signed in gets a 401 first, as on every route."""
    workflow_id = request.path_params.get("workflow_id")
    caller = await identify(state, request_credential(request, state), workflow_id)
    if caller is None:
        raise unauthenticated()
    return caller


RunCaller = Annotated[Caller, Depends(run_caller)]


async def credential_lookup(db: DB, principal: CurrentPrincipal, state: State) -> CredentialLookup:
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
