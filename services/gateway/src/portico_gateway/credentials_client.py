"""Talking to the credentials service (`credentials.rpc`): create, update, list, delete.

A credential's `data` passes through here on its way to be sealed and is then dropped: it is
never stored, logged or put in an error. Replies describe credentials by metadata only.
Every request names the caller's tenant; another tenant's credential is `not_found`, exactly
like a missing one.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from portico_contracts.credentials import (
    CREDENTIAL_ID_PATTERN,
    CheckSecret,
    CreateCredential,
    CredentialList,
    CredentialType,
    CredentialView,
    DeleteCredential,
    ListCredentials,
    UpdateCredential,
)
from portico_contracts.topology import CREDENTIALS_RPC_QUEUE_NAME
from portico_gateway.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PorticoError,
    UnavailableError,
)
from portico_gateway.peer_rpc import Peer, ask, parsed, problems
from portico_gateway.rpc import RpcClient

R = TypeVar("R", bound=BaseModel)

_CREDENTIAL_ID = re.compile(CREDENTIAL_ID_PATTERN)


class CredentialsUnavailableError(UnavailableError):
    code = "credentials_unavailable"


class CredentialsServiceError(PorticoError):
    """The credentials service answered with an internal error or something unreadable."""

    code, status = "credentials_error", 502


CREDENTIALS = Peer(
    name="the credentials service",
    queue=CREDENTIALS_RPC_QUEUE_NAME,
    unavailable=CredentialsUnavailableError,
    failed=CredentialsServiceError,
    errors={
        "not_found": NotFoundError,
        "invalid_request": InvalidRequestError,
        "conflict": ConflictError,
        "unavailable": CredentialsUnavailableError,
    },
)


def is_credential_id(value: str) -> bool:
    """Whether `value` could name a credential at all (others are simply not found)."""
    return _CREDENTIAL_ID.match(value) is not None


def _request(model: type[R], **fields: Any) -> R:
    # A ValidationError's text quotes its input, which may be the secret: say what is wrong
    # by field only, and drop the original (`from None`) so no traceback carries it either.
    try:
        return model(**fields)
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid credential request: {problems(exc)}") from None


class CredentialsClient:
    def __init__(self, rpc: RpcClient, timeout_s: float) -> None:
        self._rpc = rpc
        self._timeout = timeout_s

    async def _ask(self, request: BaseModel) -> dict[str, object]:
        return await ask(self._rpc, CREDENTIALS, request, self._timeout)

    async def create(
        self, tenant_id: str, name: str, credential_type: CredentialType, data: dict[str, Any]
    ) -> CredentialView:
        request = _request(
            CreateCredential, tenant_id=tenant_id, name=name, type=credential_type, data=data
        )
        return parsed(CREDENTIALS, await self._ask(request), CredentialView)

    async def update(
        self,
        tenant_id: str,
        credential_id: str,
        *,
        name: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> CredentialView:
        request = _request(
            UpdateCredential, tenant_id=tenant_id, credential_id=credential_id, name=name, data=data
        )
        return parsed(CREDENTIALS, await self._ask(request), CredentialView)

    async def list_credentials(
        self,
        tenant_id: str,
        *,
        credential_type: CredentialType | None = None,
        ids: list[str] | None = None,
    ) -> list[CredentialView]:
        request = _request(ListCredentials, tenant_id=tenant_id, type=credential_type, ids=ids)
        return parsed(CREDENTIALS, await self._ask(request), CredentialList).items

    async def get(self, tenant_id: str, credential_id: str) -> CredentialView:
        found: list[CredentialView] = []
        if is_credential_id(credential_id):
            found = await self.list_credentials(tenant_id, ids=[credential_id])
        if not found:
            raise NotFoundError(f"credential {credential_id} not found")
        return found[0]

    async def delete(self, tenant_id: str, credential_id: str) -> None:
        if not is_credential_id(credential_id):
            raise NotFoundError(f"credential {credential_id} not found")
        request = _request(DeleteCredential, tenant_id=tenant_id, credential_id=credential_id)
        await self._ask(request)

    async def check_secret(
        self,
        tenant_id: str,
        credential_id: str,
        mode: Literal["token", "hmac"],
        candidates: list[str],
        payload: bytes = b"",
    ) -> bool:
        """Whether a candidate is the `hmac_secret` credential's secret (`token`) or its HMAC
        of `payload` (`hmac`); the secret itself never comes here."""
        if not is_credential_id(credential_id):
            raise NotFoundError(f"credential {credential_id} not found")
        request = _request(
            CheckSecret,
            tenant_id=tenant_id,
            credential_id=credential_id,
            mode=mode,
            payload=payload,
            candidates=candidates,
        )
        return (await self._ask(request)).get("valid") is True
