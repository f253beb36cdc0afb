"""Asking the executors running `ai` (`executors.ai.rpc`) to write a node config from a
plain-English description, with a grant the orchestrator signed for this one request.

Writing a config takes a model up to a few tries, so the wait is long (`ai_generate_timeout_s`);
before waiting that long, the queue is checked for a consumer, so that with no executor
running `ai` the answer is a quick 503 rather than a timeout.
"""

from __future__ import annotations

from portico_contracts.ai import GenerateConfig, GeneratedConfig
from portico_contracts.topology import AI_RPC_QUEUE_NAME
from portico_gateway.errors import (
    BrokerUnavailableError,
    InvalidRequestError,
    NotFoundError,
    PorticoError,
    UnavailableError,
)
from portico_gateway.peer_rpc import Peer, ask, parsed
from portico_gateway.rpc import BrokerUnreachableError, RpcClient


class AiUnavailableError(UnavailableError):
    code = "ai_unavailable"


class AiError(PorticoError):
    """The executor answered with an internal error or something unreadable."""

    code, status = "ai_error", 502


class GrantRefusedError(PorticoError):
    """The credentials service refused the orchestrator's grant: not the caller's doing (the
    services' keys disagree, or the grant expired on its way), so not a 403."""

    code, status = "grant_refused", 502


AI = Peer(
    name="the AI executor",
    queue=AI_RPC_QUEUE_NAME,
    unavailable=AiUnavailableError,
    failed=AiError,
    errors={
        "invalid_request": InvalidRequestError,
        # Another tenant's credential is not_found too, exactly like a missing one.
        "not_found": NotFoundError,
        "forbidden": GrantRefusedError,
        "unavailable": AiUnavailableError,
    },
)


class AiClient:
    def __init__(self, rpc: RpcClient, timeout_s: float) -> None:
        self._rpc = rpc
        self._timeout = timeout_s

    async def generate_config(self, request: GenerateConfig) -> GeneratedConfig:
        try:
            consumers = await self._rpc.consumer_count(AI_RPC_QUEUE_NAME)
        except BrokerUnreachableError as exc:
            raise BrokerUnavailableError(f"cannot reach RabbitMQ: {exc}") from exc
        if not consumers:
            raise AiUnavailableError(
                "no executor runs the ai node type (nothing consumes "
                f"{AI_RPC_QUEUE_NAME}); start one with `portico executors --types ai`"
            )
        result = await ask(self._rpc, AI, request, self._timeout)
        return parsed(AI, result, GeneratedConfig)
