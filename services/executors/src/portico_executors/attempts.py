"""Does a redelivered node.ready's attempt still await its result? The orchestrator knows.

RabbitMQ redelivers a node.ready whose executor died before acking it, and that executor may
well have done the side effect (and even published the result) first. For a node type with
side effects we ask the orchestrator (`AttemptStatus` over `orchestrator.rpc`) before running
it again: an attempt that has its result already is dropped, with no request sent and no
result published.

When the orchestrator cannot answer (down, restarting, broker trouble) we keep asking with
backoff for up to `window_s`, without giving the message back (a nack would count towards the
queue's delivery limit), and then run the node anyway: its Idempotency-Key lets the receiver
recognise the repeat. Dropping it instead could leave the execution waiting for a result that
never comes.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from portico_contracts.messages import NodeReady
from portico_contracts.queries import AttemptStatus, RpcReply
from portico_contracts.topology import ORCHESTRATOR_RPC_QUEUE_NAME
from portico_executors.rpc_client import NoAnswerError, RpcClient

logger = logging.getLogger("portico.executors.attempts")

# (request body, seconds to wait) → reply body; raises when there is no usable reply.
AskFunction = Callable[[bytes, float], Awaitable[bytes]]

FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0


class OrchestratorRpc(RpcClient):
    """Questions to `orchestrator.rpc` (see rpc_client.py)."""

    def __init__(self, amqp_url: str) -> None:
        super().__init__(amqp_url, ORCHESTRATOR_RPC_QUEUE_NAME)


def _awaiting(body: bytes) -> bool:
    try:
        reply = RpcReply.model_validate_json(body)
    except ValidationError as exc:
        raise NoAnswerError(f"unreadable reply: {exc}") from exc
    if reply.error is not None:
        if reply.error.code == "not_found":  # no such execution: nothing awaits the attempt
            return False
        raise NoAnswerError(f"{reply.error.code}: {reply.error.message}")
    awaiting = (reply.result or {}).get("awaiting")
    if not isinstance(awaiting, bool):
        raise NoAnswerError(f"reply without 'awaiting': {reply.result!r}")
    return awaiting


class AttemptChecker:
    def __init__(self, ask: AskFunction, window_s: float, timeout_s: float) -> None:
        self.ask = ask
        self.window_s = window_s
        self.timeout_s = timeout_s

    async def awaiting(self, ready: NodeReady) -> bool:
        """False only when the orchestrator says the attempt no longer awaits a result."""
        body = AttemptStatus(
            tenant_id=ready.tenant_id,
            execution_id=ready.execution_id,
            node_id=ready.node_id,
            attempt=ready.attempt,
        ).model_dump_json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window_s
        backoff = FIRST_BACKOFF_S
        request = body.encode()
        while True:
            wait_s = min(self.timeout_s, max(deadline - loop.time(), 0.1))
            try:
                return _awaiting(await self.ask(request, wait_s))
            except Exception as exc:  # whatever went wrong, we have no answer: ask again
                problem = exc
            left = deadline - loop.time()
            if left <= 0:
                logger.warning(
                    "no answer on attempt %s of node %s (execution %s): running it anyway (%s)",
                    ready.attempt,
                    ready.node_id,
                    ready.execution_id,
                    problem,
                )
                return True
            await asyncio.sleep(min(left, backoff * random.uniform(0.5, 1.0)))
            backoff = min(backoff * 2, MAX_BACKOFF_S)
