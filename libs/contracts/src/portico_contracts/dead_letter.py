"""Dead-lettering for every consumer: a message that cannot be processed is parked, not lost.

`DeadLetterMiddleware` catches a message that fails validation (or a handler's
`PermanentMessageError`), republishes it unchanged to `portico.dlx` with the reason in the
`x-portico-error` header, and acks it, so the consumer keeps serving the next message.

It also bounds poison messages: one that crashes every consumer taking it comes back from
RabbitMQ flagged `redelivered`. Such a delivery is not run; a copy carrying how often it came
back (`x-portico-deliveries`) is queued in its place and the original acked, so the count
survives the next crash. At `DELIVERY_LIMIT` the message is dead-lettered instead. This costs
nothing until a delivery comes back. (A crash between queueing the copy and acking the
original leaves both: consumers treat a counted copy as a possible repeat anyway.)

Where a delivery goes instead is decided by plain functions (`after_redelivery`,
`to_dead_letters`), so the consumer on plain aio-pika (consumer.py) follows the same rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from json import JSONDecodeError
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from pydantic import ValidationError

from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_REASON_HEADER,
    DELIVERIES_HEADER,
    DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    EVENTS_QUEUE,
)

logger = logging.getLogger("portico.dead_letter")
# Where a counted copy goes when the original's exchange reaches other queues too: a copy of an
# outside event must go to our queue alone, not to everyone bound to `portico.events` again.
_COPY_ROUTES = {EVENTS_EXCHANGE.name: ("", EVENTS_QUEUE.name)}
RETRY_PAUSE_S = 1.0


class PermanentMessageError(Exception):
    """The message is well-formed JSON but can never succeed (say, an unknown execution)."""


# Raised by a handler for a message that can never be processed: it is dead-lettered.
UNPROCESSABLE = (ValidationError, PermanentMessageError, UnicodeDecodeError, JSONDecodeError)


def reason_for(exc: BaseException) -> str:
    """Why a message that raised `exc` cannot be processed, for its dead letter."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return f"invalid {exc.title}: {problems}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def _deliveries(headers: Mapping[str, Any]) -> int:
    count = headers.get(DELIVERIES_HEADER, 0)
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


# Whatever a consumer cannot process it acks only once one of these was published.
@dataclass(frozen=True, slots=True)
class Republish:
    """Where a delivery goes instead of being processed, and with which headers: a counted
    copy back to its own queue, or the dead letters (then `reason` says why)."""

    exchange: str
    routing_key: str
    headers: dict[str, Any]
    reason: str | None = None


def to_dead_letters(
    headers: Mapping[str, Any], exchange: str, routing_key: str, reason: str
) -> Republish:
    parked = dict(headers)
    parked[DEAD_LETTER_REASON_HEADER] = reason
    parked["x-portico-original-routing-key"] = routing_key
    parked["x-portico-original-exchange"] = exchange
    return Republish(DEAD_LETTER_EXCHANGE.name, "", parked, reason)


def after_redelivery(headers: Mapping[str, Any], exchange: str, routing_key: str) -> Republish:
    """A delivery that came back unsettled: a counted copy in its place, or, at the limit,
    the dead letters."""
    deliveries = _deliveries(headers) + 1
    if deliveries >= DELIVERY_LIMIT:
        reason = (
            f"delivered {deliveries + 1} times without being settled: it crashed (or stalled) "
            "its consumer every time"
        )
        return to_dead_letters(headers, exchange, routing_key, reason)
    copy = dict(headers)
    copy[DELIVERIES_HEADER] = deliveries
    exchange, routing_key = _COPY_ROUTES.get(exchange, (exchange, routing_key))
    return Republish(exchange, routing_key, copy)


async def requeue_counted(broker: Any, msg: StreamMessage[Any]) -> None:
    """A delivery that came back unsettled: queue a counted copy in its place, or give up."""
    raw = msg.raw_message
    plan = after_redelivery(
        getattr(raw, "headers", None) or {},
        getattr(raw, "exchange", "") or "",
        getattr(raw, "routing_key", "") or "",
    )
    if plan.reason is not None:
        await _republish_dead(broker, msg, plan)
        return
    try:
        await broker.publish(
            msg.body,
            exchange=plan.exchange,
            routing_key=plan.routing_key,
            headers=plan.headers,
            content_type=msg.content_type,
            persist=True,
            # The sender's own id, or none: not one FastStream made up for this delivery,
            # which a consumer keying on the id would take for another message.
            message_id=getattr(raw, "message_id", None),
            correlation_id=msg.correlation_id,
            reply_to=msg.reply_to,
        )
    except Exception as exc:
        # The broker is in trouble (this delivery came back for a reason): give the message
        # back after a pause rather than hold it unsettled, or reject it into the dead letters.
        logger.warning("could not re-queue message %s (%r); giving it back", msg.message_id, exc)
        await asyncio.sleep(RETRY_PAUSE_S)
        await msg.nack()  # RabbitMQ's nack requeues by default
        msg.reply_to = ""
        return
    await msg.ack()
    # The copy answers a waiting caller; this delivery must not (FastStream would send an
    # empty reply, which the caller could not read).
    msg.reply_to = ""
    logger.warning(
        "message %s came back unsettled (%d so far)",
        msg.message_id,
        plan.headers[DELIVERIES_HEADER],
    )


class DeadLetterMiddleware(BaseMiddleware):
    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        if getattr(msg.raw_message, "redelivered", False):
            await requeue_counted(self.context.get("broker"), msg)
            return None
        try:
            return await call_next(msg)
        except UNPROCESSABLE as exc:
            await dead_letter(self.context.get("broker"), msg, reason_for(exc))
            return None


async def dead_letter(broker: Any, msg: StreamMessage[Any], reason: str) -> None:
    raw = msg.raw_message
    plan = to_dead_letters(
        getattr(raw, "headers", None) or {},
        getattr(raw, "exchange", "") or "",
        getattr(raw, "routing_key", "") or "",
        reason,
    )
    await _republish_dead(broker, msg, plan)


async def _republish_dead(broker: Any, msg: StreamMessage[Any], plan: Republish) -> None:
    await broker.publish(
        msg.body,
        exchange=plan.exchange,
        headers=plan.headers,
        content_type=msg.content_type,
        persist=True,
        message_id=msg.message_id,
    )
    await msg.ack()
    logger.warning("dead-lettered message %s: %s", msg.message_id, plan.reason)
