"""Asking another service over RPC and reading its `RpcReply`: what the orchestrator,
credentials and AI clients share.

Requests may carry secrets (a credential's data on its way in): nothing here logs a request,
and a reply that does not parse is logged by its problems only, never by its content.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from portico_contracts.queries import RpcReply
from portico_gateway.errors import BrokerUnavailableError, PorticoError, UnavailableError
from portico_gateway.rpc import (
    BrokerUnreachableError,
    ReplyTimeoutError,
    RpcClient,
    UnroutableError,
)

logger = logging.getLogger("portico.gateway.rpc")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Peer:
    """A service answering RPC on `queue`, and how its replies become gateway errors."""

    name: str  # as a sentence names it: "the credentials service"
    queue: str
    unavailable: type[UnavailableError]  # no answer: 503 with Retry-After
    failed: type[PorticoError]  # an internal error or an unreadable reply: 502
    errors: Mapping[str, type[PorticoError]]  # RpcError.code → what to raise


def problems(exc: ValidationError) -> str:
    """What failed to validate, by field, without the input pydantic would quote."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )


async def ask(rpc: RpcClient, peer: Peer, request: BaseModel, wait_s: float) -> dict[str, object]:
    """Send `request` to `peer` and return the reply's result, or raise the mapped error."""
    try:
        raw = await rpc.call(
            request.model_dump_json().encode(), routing_key=peer.queue, wait_s=wait_s
        )
    except ReplyTimeoutError as exc:
        raise peer.unavailable(
            f"{peer.name} is not answering (no reply within {wait_s:g}s); try again shortly"
        ) from exc
    except UnroutableError as exc:
        raise peer.unavailable(
            f"{peer.name} is not running (nothing listens on {peer.queue})"
        ) from exc
    except BrokerUnreachableError as exc:
        raise BrokerUnavailableError(f"cannot reach RabbitMQ: {exc}") from exc
    return reply_result(peer, raw)


def reply_result(peer: Peer, raw: bytes) -> dict[str, object]:
    try:
        reply = RpcReply.model_validate_json(raw)
    except ValidationError as exc:
        logger.error("unreadable reply from %s: %s", peer.name, problems(exc))
        raise peer.failed(f"{peer.name} sent a reply this gateway cannot read") from None
    if reply.error is not None:
        raise peer.errors.get(reply.error.code, peer.failed)(reply.error.message)
    return reply.result or {}


def parsed(peer: Peer, result: dict[str, object], model: type[M]) -> M:
    try:
        return model.model_validate(result)
    except ValidationError as exc:
        logger.error(
            "reply from %s does not match %s: %s", peer.name, model.__name__, problems(exc)
        )
        raise peer.failed(f"{peer.name} sent a reply of the wrong shape") from None
