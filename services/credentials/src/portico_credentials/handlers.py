"""The `credentials.rpc` subscriber: parse, ask the service, reply `RpcReply` JSON.

Nothing here raises: a body that is not a request, a request the service refuses, a database
that is down, even a bug, each becomes an error reply, so the caller never waits for a timeout
and the consumer keeps serving. Request and reply bodies carry secrets, so they are never
logged, and error messages are built from field names and problems only, never from values.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any, Literal

from faststream.rabbit import RabbitBroker
from faststream.rabbit.message import RabbitMessage
from pydantic import BaseModel, TypeAdapter, ValidationError

from portico_contracts.broker import undecoded
from portico_contracts.credentials import CredentialRequest
from portico_contracts.queries import RpcError, RpcReply
from portico_contracts.sql import is_transient
from portico_contracts.topology import CREDENTIALS_RPC_QUEUE
from portico_credentials.service import CredentialService, ErrorCode, RequestError

logger = logging.getLogger("portico.credentials.handlers")
_REQUEST = TypeAdapter[CredentialRequest](CredentialRequest)
# Tries of a request that met a dead pooled connection (the database restarted): the pool
# drops such a connection, so the next try gets a fresh one.
_TRIES = 3


def register(broker: RabbitBroker, service: CredentialService) -> None:
    @broker.subscriber(CREDENTIALS_RPC_QUEUE, decoder=undecoded, title="credentials.rpc")
    async def credentials_rpc(message: RabbitMessage) -> RpcReply:
        return await reply(service, message.body)


def _error(code: ErrorCode | Literal["unavailable"], message: str) -> RpcReply:
    return RpcReply(error=RpcError(code=code, message=message[:2000]))


def problems_of(exc: ValidationError) -> str:
    """Each problem by field, without the input pydantic would otherwise quote."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )


def _where(exc: BaseException) -> str:
    # An unexpected exception's message may quote a value; its place in the code cannot.
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


async def reply(service: CredentialService, body: bytes) -> RpcReply:
    try:
        request = _REQUEST.validate_json(body)
    except ValidationError as exc:
        return _error("invalid_request", f"invalid credentials request: {problems_of(exc)}")
    try:
        result = await _answer_retrying(service, request)
    except RequestError as exc:
        return _error(exc.code, exc.message)
    except Exception as exc:
        if is_transient(exc):
            return _error("unavailable", "the credentials database is unreachable; try again")
        logger.error("%s request failed: %s at %s", request.op, type(exc).__name__, _where(exc))
        return _error("internal", "the request failed")
    if isinstance(result, BaseModel):
        return RpcReply(result=result.model_dump(mode="json"))
    return RpcReply(result=result)


async def _answer_retrying(
    service: CredentialService, request: CredentialRequest
) -> BaseModel | dict[str, Any]:
    for attempt in range(_TRIES):
        try:
            return await service.answer(request)
        except Exception as exc:
            if attempt == _TRIES - 1 or not is_transient(exc):
                raise
            await asyncio.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")
