"""The `executors.ai.rpc` subscriber (generate-config): parse, resolve the credential with the
request's grant, ask the model, reply `RpcReply` JSON (result: `GeneratedConfig`).

Nothing here raises: a body that is not a request, a refused grant, a provider failure, even
a bug, each becomes an error reply, so the gateway never waits for a timeout and the consumer
keeps serving. Bodies are never logged (a reply holds no secret, but a request's description
is the user's), and nothing is saved.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx
from faststream.rabbit import RabbitBroker
from faststream.rabbit.message import RabbitMessage
from pydantic import ValidationError

from portico_contracts.ai import GenerateConfig
from portico_contracts.broker import undecoded
from portico_contracts.credentials import ResolvedCredential
from portico_contracts.queries import RpcError, RpcReply
from portico_contracts.topology import AI_RPC_QUEUE
from portico_executors.ai.generate_config import ErrorCode, GenerateConfigError, generate_config
from portico_executors.errors import NodeRunError

logger = logging.getLogger("portico.executors.ai")


class GrantedCredentials(Protocol):
    async def resolve_with_grant(
        self, *, tenant_id: str, credential_id: str, execution_id: str, node_id: str, grant: str
    ) -> ResolvedCredential: ...


def _error(code: ErrorCode | str, message: str) -> RpcReply:
    return RpcReply(error=RpcError.model_validate({"code": code, "message": message[:2000]}))


def _credential_code(failure: NodeRunError) -> ErrorCode:
    if failure.retryable:
        return "unavailable"
    if failure.type == "CredentialNotFound":
        return "not_found"
    if failure.type == "CredentialForbidden":
        return "forbidden"
    return "invalid_request"


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )


async def answer(
    body: bytes, credentials: GrantedCredentials, http: httpx.AsyncClient, timeout_s: float
) -> RpcReply:
    try:
        request = GenerateConfig.model_validate_json(body)
    except ValidationError as exc:
        return _error("invalid_request", f"invalid generate-config request: {_problems(exc)}")
    try:
        credential = await credentials.resolve_with_grant(
            tenant_id=request.tenant_id,
            credential_id=request.credential_id,
            execution_id=request.execution_id,
            node_id=request.node_id,
            grant=request.grant,
        )
        generated = await generate_config(request, credential, http, timeout_s)
    except NodeRunError as failure:
        return _error(_credential_code(failure), failure.message)
    except GenerateConfigError as failure:
        return _error(failure.code, failure.message)
    except Exception as exc:  # a bug: never the request (it may quote the user) in the log
        logger.error("generate-config failed: %s", type(exc).__name__)
        return _error("internal", "generating the config failed")
    return RpcReply(result=generated.model_dump(mode="json"))


def register_ai_rpc(
    broker: RabbitBroker,
    credentials: GrantedCredentials,
    http: httpx.AsyncClient,
    timeout_s: float,
) -> None:
    @broker.subscriber(AI_RPC_QUEUE, decoder=undecoded, title="executors.ai.rpc")
    async def ai_rpc(message: RabbitMessage) -> RpcReply:
        return await answer(message.body, credentials, http, timeout_s)
