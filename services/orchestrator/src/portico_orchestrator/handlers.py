"""Thin subscribers: parse, run the service in one transaction, publish after commit.

All on FastStream but node.result, which every node's result passes through: it is consumed
on plain aio-pika (`portico_contracts.consumer`) with the same dead-letter rules.

Each handler gets the message itself (`portico_contracts.broker.undecoded`, no FastDepends)
and parses its bytes with pydantic, so a body that is not even JSON still gets a proper answer.
A message that can never succeed is dead-lettered with its reason by `DeadLetterMiddleware`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from aio_pika.abc import AbstractIncomingMessage
from faststream.exceptions import NackMessage
from faststream.rabbit import RabbitBroker
from faststream.rabbit.message import RabbitMessage
from faststream.rabbit.schemas.constants import REPLY_TO_QUEUE_EXCHANGE_DELIMITER
from pydantic import TypeAdapter, ValidationError

from portico_contracts.broker import undecoded
from portico_contracts.consumer import Handler
from portico_contracts.dead_letter import PermanentMessageError, dead_letter
from portico_contracts.messages import CancelExecution, NodeResult, StartExecution
from portico_contracts.queries import (
    AttemptStatus,
    CancelExecutionRequest,
    EventsSince,
    ExecutionSummary,
    GetExecution,
    IssueGrant,
    LatestExecutions,
    ListDeadLetters,
    ListExecutions,
    ListSchedules,
    OrchestratorQuery,
    RetryExecutionRequest,
    RpcError,
    RpcReply,
)
from portico_contracts.sql import is_transient, sqlstate
from portico_contracts.topology import (
    COMMAND_CANCEL_QUEUE,
    COMMAND_START_QUEUE,
    COMMANDS_EXCHANGE,
    DEAD_LETTER_EXCHANGE,
    DELIVERIES_HEADER,
    ORCHESTRATOR_DEAD_LETTERS_QUEUE,
    ORCHESTRATOR_RPC_QUEUE,
)
from portico_orchestrator import db, dead_letters, retrying, schedules, views
from portico_orchestrator.fan_in import FanIn
from portico_orchestrator.service import ArrivedResult
from portico_orchestrator.unit_of_work import Deps

logger = logging.getLogger("portico.orchestrator.handlers")
_QUERY = TypeAdapter[OrchestratorQuery](OrchestratorQuery)
# PostgreSQL refuses a NUL character in text: the value came from the request.
_NUL_IN_TEXT = "22021"


TRACE_HEADERS = ("traceparent", "tracestate")


class Delivery(Protocol):
    """What these helpers read of a message, whichever client received it."""

    @property
    def headers(self) -> Mapping[str, Any]: ...
    @property
    def message_id(self) -> str | None: ...


def trace_of(message: Delivery) -> dict[str, str] | None:
    """The W3C trace context a message came with, to send along on what it causes."""
    found = {name: str(message.headers[name]) for name in TRACE_HEADERS if name in message.headers}
    return found or None


@asynccontextmanager
async def requeue_or_park(message: Delivery) -> AsyncIterator[None]:
    """When handling fails: an infrastructure failure (the database down for longer than the
    in-process retries) puts the message back after a pause, counted towards its delivery
    limit; any other error (a bug) gets one more try and is then dead-lettered, so it cannot
    loop forever."""
    try:
        yield
    except (PermanentMessageError, ValidationError, NackMessage):
        raise
    except Exception as exc:
        if not is_transient(exc) and DELIVERIES_HEADER in message.headers:
            raise PermanentMessageError(f"failed twice: {exc!r}") from exc
        logger.warning("message %s failed (%r); requeueing it", message.message_id, exc)
        await asyncio.sleep(1.0)
        raise NackMessage(requeue=True) from exc


async def _record_dead_letter(deps: Deps, message: RabbitMessage) -> None:
    """Never raises: a dead letter that cannot be handled must not be dead-lettered again
    (it would come straight back here)."""
    raw = message.raw_message
    try:
        letter = dead_letters.from_broker(
            message.body, message.headers, raw.routing_key, message.message_id
        )
        await deps.dead_lettered(letter)
    except Exception:
        logger.exception("could not record dead letter %s; dropping it", message.message_id)


def summary_reply(summary: ExecutionSummary) -> bytes:
    """`RpcReply(result=summary)` as JSON, encoded once (not dumped to a dict, then again)."""
    return b'{"result":' + summary.model_dump_json().encode() + b',"error":null}'


async def reply_now(broker: RabbitBroker, message: RabbitMessage, body: bytes) -> None:
    """Answer an RPC caller now, the way FastStream answers a handler's return value, and
    make sure FastStream sends nothing more when the handler returns."""
    if not message.reply_to:
        return
    queue, _, exchange = message.reply_to.partition(REPLY_TO_QUEUE_EXCHANGE_DELIMITER)
    await broker.publish(
        body,
        exchange=exchange or None,
        routing_key=queue,
        correlation_id=message.correlation_id,
        content_type="application/json",
    )
    message.reply_to = ""


async def refuse(deps: Deps, message: RabbitMessage, reason: str) -> RpcReply:
    """Dead-letter a command that cannot run, and tell a waiting caller why."""
    await dead_letter(deps.broker, message, reason[:2000])
    return RpcReply(error=RpcError(code="invalid_request", message=reason[:2000]))


def node_result_handler(deps: Deps) -> Handler:
    """node.result, on `portico_contracts.consumer` (every node's result passes here): acked
    once applied and what that caused is published; a body that does not parse is
    dead-lettered by the consumer."""
    fan_in = FanIn(deps)  # results of one execution that arrive together share a commit

    async def node_result(message: AbstractIncomingMessage) -> None:
        result = NodeResult.model_validate_json(message.body)
        async with requeue_or_park(message):
            await fan_in.apply(ArrivedResult(result, len(message.body), trace_of(message)))
        await message.ack()

    return node_result


def register(deps: Deps) -> None:
    broker = deps.broker

    @broker.subscriber(COMMAND_START_QUEUE, COMMANDS_EXCHANGE, decoder=undecoded)
    async def start_execution(message: RabbitMessage) -> RpcReply | None:
        """Reply (when the caller asked with reply_to) as soon as the execution committed:
        read-your-writes. What it committed is published after that; the outbox guarantees it
        goes out (the relay takes over should this replica die first)."""
        try:
            command = StartExecution.model_validate_json(message.body)
        except ValidationError as exc:
            return await refuse(deps, message, f"invalid StartExecution: {exc}")
        async with requeue_or_park(message):
            try:
                summary, effects = await deps.transaction(
                    lambda conn: deps.service.start(
                        conn, command, len(message.body), trace_of(message)
                    )
                )
            except PermanentMessageError as exc:
                return await refuse(deps, message, str(exc))
        try:
            await reply_now(deps.broker, message, summary_reply(summary))
        finally:
            # Acked only after this: a crash before the publish leaves the rows to the relay.
            await deps.after_commit(effects)
        return None

    @broker.subscriber(COMMAND_CANCEL_QUEUE, COMMANDS_EXCHANGE, decoder=undecoded)
    async def cancel_execution(message: RabbitMessage) -> None:
        command = CancelExecution.model_validate_json(message.body)
        trace = trace_of(message)
        async with requeue_or_park(message):
            _, effects = await deps.transaction(
                lambda conn: deps.service.cancel(
                    conn, command.tenant_id, command.execution_id, command.reason, trace
                )
            )
        await deps.after_commit(effects)

    @broker.subscriber(ORCHESTRATOR_DEAD_LETTERS_QUEUE, DEAD_LETTER_EXCHANGE, decoder=undecoded)
    async def dead_letter(message: RabbitMessage) -> None:
        await _record_dead_letter(deps, message)

    @broker.subscriber(ORCHESTRATOR_RPC_QUEUE, decoder=undecoded)
    async def query(message: RabbitMessage) -> RpcReply:
        try:
            request = _QUERY.validate_json(message.body)
        except ValidationError as exc:
            return RpcReply(error=RpcError(code="invalid_request", message=str(exc)[:2000]))
        try:
            return await _answer_retrying(deps, request)
        except views.InvalidRequestError as exc:
            return RpcReply(error=RpcError(code="invalid_request", message=str(exc)))
        except Exception as exc:
            if is_transient(exc):
                reason = "the orchestrator's database is unreachable; try again shortly"
                return RpcReply(error=RpcError(code="unavailable", message=reason))
            if sqlstate(exc) == _NUL_IN_TEXT:
                reason = "the request contains a NUL character, which no id or name can hold"
                return RpcReply(error=RpcError(code="invalid_request", message=reason))
            logger.exception("query %s failed", request.op)
            return RpcReply(error=RpcError(code="internal", message="the query failed"))


async def _answer_retrying(deps: Deps, request: OrchestratorQuery) -> RpcReply:
    """A query that met a dead pooled connection (the database restarted) is asked again:
    the pool has dropped that connection by then, so the next try gets a fresh one."""
    for attempt in range(3):
        try:
            return await answer(deps, request)
        except Exception as exc:
            if attempt == 2 or not is_transient(exc):
                raise
            await asyncio.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


def _not_found(execution_id: str) -> RpcReply:
    return RpcReply(error=RpcError(code="not_found", message=f"no execution {execution_id}"))


def _issue_grant(deps: Deps, request: IssueGrant) -> RpcReply:
    """A grant for generate-config. The credentials service still checks that the credential
    is this tenant's, and audits the read under the grant's made-up execution id."""
    signer = deps.service.signer
    if signer is None:
        reason = "this orchestrator has no grant signing key"
        return RpcReply(error=RpcError(code="unavailable", message=reason))
    grant = signer.for_request(request.tenant_id, request.credential_id)
    logger.info(
        "grant %s for credential %s issued to %s",
        grant.execution_id,
        request.credential_id,
        request.requested_by,
    )
    return RpcReply(
        result={
            "grant": signer.sign(grant),
            "execution_id": grant.execution_id,
            "node_id": grant.node_id,
        }
    )


async def answer(deps: Deps, request: OrchestratorQuery) -> RpcReply:
    if isinstance(request, IssueGrant):
        return _issue_grant(deps, request)
    if isinstance(request, RetryExecutionRequest):
        return await _retry(deps, request)
    if isinstance(request, CancelExecutionRequest):
        summary, effects = await deps.transaction(
            lambda conn: deps.service.cancel(
                conn, request.tenant_id, request.execution_id, request.reason
            )
        )
        await deps.after_commit(effects)
        if summary is None:
            return _not_found(request.execution_id)
        return RpcReply(result=summary.model_dump(mode="json"))
    if isinstance(request, ListSchedules):
        async with db.connection(deps.pool) as pooled:
            schedule_page = await schedules.list_schedules(pooled, request)
        return RpcReply(result=schedule_page.model_dump(mode="json"))
    async with deps.engine.connect() as conn:
        if isinstance(request, GetExecution):
            detail = await views.get_execution(conn, request)
            if detail is None:
                return _not_found(request.execution_id)
            return RpcReply(result=detail.model_dump(mode="json"))
        if isinstance(request, ListExecutions):
            page = await views.list_executions(conn, request)
            return RpcReply(result=page.model_dump(mode="json"))
        if isinstance(request, AttemptStatus):
            return RpcReply(result={"awaiting": await views.attempt_awaiting(conn, request)})
        if isinstance(request, LatestExecutions):
            latest = await views.latest_executions(conn, request)
            return RpcReply(result=latest.model_dump(mode="json"))
        if isinstance(request, ListDeadLetters):
            letters = await views.list_dead_letters(conn, request)
            return RpcReply(result=letters.model_dump(mode="json"))
        if isinstance(request, EventsSince):
            events = await views.events_since(conn, request)
            if events is None:
                return _not_found(request.execution_id)
            return RpcReply(result=events.model_dump(mode="json"))
    raise AssertionError(f"unhandled query {request!r}")


async def _retry(deps: Deps, request: RetryExecutionRequest) -> RpcReply:
    try:
        started = await deps.transaction(
            lambda conn: retrying.retry_execution(deps.service, conn, request)
        )
    except retrying.NotRetryableError as exc:
        return RpcReply(error=RpcError(code="conflict", message=str(exc)))
    except PermanentMessageError as exc:  # the original's graph can no longer run
        return RpcReply(error=RpcError(code="invalid_request", message=str(exc)))
    if started is None:
        return _not_found(request.execution_id)
    summary, effects = started
    await deps.after_commit(effects)
    return RpcReply(result=summary.model_dump(mode="json"))
