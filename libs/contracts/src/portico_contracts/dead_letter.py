"""Dead-lettering for every consumer: a message that cannot be processed is parked, not lost.

`DeadLetterMiddleware` catches a message that fails validation (or a handler's
`PermanentMessageError`), republishes it unchanged to `portico.dlx` with the reason in the
`x-portico-error` header, and acks it, so the consumer keeps serving the next message.
"""

from __future__ import annotations

import logging
from json import JSONDecodeError
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from pydantic import ValidationError

from portico_contracts.topology import DEAD_LETTER_EXCHANGE, DEAD_LETTER_REASON_HEADER

logger = logging.getLogger("portico.dead_letter")


class PermanentMessageError(Exception):
    """The message is well-formed JSON but can never succeed (say, an unknown execution)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return f"invalid {exc.title}: {problems}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


class DeadLetterMiddleware(BaseMiddleware):
    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        try:
            return await call_next(msg)
        except (ValidationError, PermanentMessageError, UnicodeDecodeError, JSONDecodeError) as exc:
            await dead_letter(self.context.get("broker"), msg, _reason(exc))
            return None


async def dead_letter(broker: Any, msg: StreamMessage[Any], reason: str) -> None:
    raw = msg.raw_message
    headers = dict(getattr(raw, "headers", None) or {})
    headers[DEAD_LETTER_REASON_HEADER] = reason
    headers["x-portico-original-routing-key"] = getattr(raw, "routing_key", "") or ""
    headers["x-portico-original-exchange"] = getattr(raw, "exchange", "") or ""
    await broker.publish(
        msg.body,
        exchange=DEAD_LETTER_EXCHANGE,
        headers=headers,
        content_type=msg.content_type,
        persist=True,
        message_id=msg.message_id,
    )
    await msg.ack()
    logger.warning("dead-lettered message %s: %s", msg.message_id, reason)
