"""Wiring: the key ring, the database pool, the broker and its one subscriber.

No `DeadLetterMiddleware` here, unlike the work queues: a credentials request carries a secret
(on its way in for create/update, out for resolve), and dead-lettering would copy it into the
durable `portico.dead` queue, onto disk. The handler answers every request instead, a malformed
one with `invalid_request`, so there is nothing to dead-letter. For the same reason FastStream's
own per-message log lines are kept below what is logged, and they never carry bodies anyway.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from faststream.rabbit import Channel, RabbitBroker

from portico_credentials import db, handlers
from portico_credentials.config import Settings
from portico_credentials.service import CredentialService

logger = logging.getLogger("portico.credentials")
broker_logger = logging.getLogger("portico.credentials.broker")
# At DEBUG these log whole AMQP frames, and a frame of ours may carry a secret.
_FRAME_LOGGERS = ("aiormq", "aio_pika")


def keep_frames_out_of_logs() -> None:
    """Whatever PORTICO_LOG_LEVEL says, the AMQP clients never log below INFO here."""
    for name in _FRAME_LOGGERS:
        frame_logger = logging.getLogger(name)
        # Set explicitly, so a root logger lowered later (by a test, say) does not reach them.
        frame_logger.setLevel(max(logging.INFO, frame_logger.getEffectiveLevel()))


def build_broker(settings: Settings) -> RabbitBroker:
    return RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(prefetch_count=settings.credentials_prefetch),
        graceful_timeout=settings.graceful_timeout_s,
        # FastStream logs "Received"/"Processed" per message at this level: below what the
        # logger lets through. (It logs ids, never bodies.)
        logger=broker_logger,
        log_level=logging.DEBUG,
        # The handler takes the raw message and parses it with pydantic (see handlers.py).
        apply_types=False,
    )


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    broker: RabbitBroker
    service: CredentialService


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """Serve `credentials.rpc` until the block ends; then finish the requests in hand (up to
    `graceful_timeout_s`) and close the broker and the pool."""
    keep_frames_out_of_logs()
    pool = await db.create_pool(
        settings.database_url,
        settings.db_pool_size,
        settings.db_connect_timeout_s,
        "portico-credentials",
    )
    try:
        service = CredentialService(
            settings.key_ring(), settings.verify_keys(), pool, settings.db_pool_timeout_s
        )
        broker = build_broker(settings)
        handlers.register(broker, service)
        await broker.start()
        logger.info("credentials service started (active key '%s')", service.ring.active()[0])
        try:
            yield Runtime(settings, broker, service)
        finally:
            await broker.stop()
    finally:
        await pool.close()
        logger.info("credentials service stopped")
