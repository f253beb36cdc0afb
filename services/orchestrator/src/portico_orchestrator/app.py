"""Wiring: the broker and its subscribers, the node.result consumer, the database engine, the
outbox and timer tasks."""

from __future__ import annotations

import logging

from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.rabbit.schemas import Channel
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from portico_contracts.consumer import DirectConsumer
from portico_contracts.dead_letter import DeadLetterMiddleware
from portico_contracts.topology import RESULTS_EXCHANGE, RESULTS_QUEUE
from portico_orchestrator import db, events, handlers, triggers
from portico_orchestrator.cache import ExecutionCache
from portico_orchestrator.config import Settings
from portico_orchestrator.grants import GrantSigner
from portico_orchestrator.graphs import GraphCache
from portico_orchestrator.outbox import Outbox
from portico_orchestrator.schedules import CronLoop
from portico_orchestrator.service import ExecutionService, Limits
from portico_orchestrator.timers import TimerLoop
from portico_orchestrator.unit_of_work import Deps
from portico_orchestrator.watchdog import Watchdog

logger = logging.getLogger("portico.orchestrator")
# How long a stopping replica lets the messages in hand finish.
_GRACEFUL_TIMEOUT_S = 15.0


def create_engine(settings: Settings) -> AsyncEngine:
    """SQLAlchemy for the read-only RPC queries; the hot path has its own asyncpg pool."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_read_pool_size,
        max_overflow=settings.db_read_pool_size,
        # Long-lived connections; no pre-ping, which would cost a round trip per query.
        pool_recycle=3600,
        connect_args={"server_settings": {"application_name": "portico-orchestrator-read"}},
    )


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_message_bytes=settings.max_message_bytes,
        tenant_max_running=settings.tenant_max_running,
        node_deadline_s=settings.node_deadline_s,
        wait_deadline_s=settings.wait_deadline_s,
        deadline_grace_s=settings.watchdog_grace_s,
        redispatches=settings.watchdog_redispatches,
    )


def create_broker(settings: Settings) -> RabbitBroker:
    return RabbitBroker(
        settings.amqp_url,
        middlewares=[DeadLetterMiddleware],
        default_channel=Channel(prefetch_count=settings.prefetch),
        # FastStream logs every message at `log_level`; DEBUG keeps that off the hot path.
        logger=logging.getLogger("portico.orchestrator.broker"),
        log_level=logging.DEBUG,
        graceful_timeout=_GRACEFUL_TIMEOUT_S,
        # Handlers take the message itself (see handlers.py); no dependency injection needed.
        apply_types=False,
    )


class Orchestrator:
    """One orchestrator replica: start it, stop it; tests run it in-process the same way."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = create_engine(self.settings)
        self.broker = create_broker(self.settings)
        self.service = ExecutionService(
            ExecutionCache(self.settings.cache_executions, self.settings.cache_output_bytes),
            limits=limits_of(self.settings),
            signer=GrantSigner(
                self.settings.grant_key(),
                self.settings.grant_ttl_s,
                self.settings.grant_request_ttl_s,
            ),
            graphs=GraphCache(self.settings.cache_graph_versions),
        )
        self.outbox = Outbox(self.settings)
        self.timers = TimerLoop(self.service, self.outbox, self.settings)
        self.deps = Deps(self.broker, self.engine, self.service, self.outbox, self.timers)
        self.outbox.on_parked = self.deps.parked
        self.outbox.metrics = self.deps.metrics
        self.watchdog = Watchdog(
            self.service, self.deps.apply, self.settings, metrics=self.deps.metrics
        )
        self.cron = CronLoop(self.deps, self.settings)
        self.results = DirectConsumer(
            self.settings.amqp_url,
            [(RESULTS_QUEUE, RESULTS_EXCHANGE)],
            self.settings.prefetch,
            _GRACEFUL_TIMEOUT_S,
        )
        handlers.register(self.deps)
        triggers.register(self.deps)
        events.register(self.deps)

    async def open(self) -> None:
        """Before consuming: the database pool and the publishing side must be ready."""
        settings = self.settings
        self.deps.pool = await db.create_pool(
            settings.database_url, settings.db_pool_size, settings.db_max_overflow
        )
        await self.outbox.connect(self.deps.pool)
        self.service.owner = self.outbox.owner

    async def start_background(self) -> None:
        await self.results.connect()
        await self.results.consume(handlers.node_result_handler(self.deps))
        self.outbox.start()
        self.timers.start(self.deps.pool)
        self.cron.start(self.deps.pool)
        self.watchdog.start(self.deps.pool)
        if self.settings.metrics_port is not None:
            self.deps.metrics.serve(self.settings.metrics_host, self.settings.metrics_port)
        logger.info("orchestrator started (outbox owner %d)", self.outbox.owner)

    async def stop_consuming(self) -> None:
        """Before the broker stops: node.result finishes what it holds, like the broker."""
        await self.results.stop()

    async def close(self) -> None:
        """After the broker stopped consuming (and finished what it had): stop the rest."""
        await self.watchdog.stop()
        await self.cron.stop()
        await self.timers.stop()
        await self.outbox.stop()
        if self.deps.pool is not None:
            await self.deps.pool.close()
        await self.engine.dispose()
        logger.info("orchestrator stopped")

    async def start(self) -> None:
        await self.open()
        await self.broker.start()
        await self.start_background()

    async def stop(self) -> None:
        await self.stop_consuming()
        await self.broker.stop()
        await self.close()

    def app(self) -> FastStream:
        return FastStream(
            self.broker,
            logger=logger,
            on_startup=[self.open],
            after_startup=[self.start_background],
            on_shutdown=[self.stop_consuming],
            after_shutdown=[self.close],
        )


def create_app(settings: Settings | None = None) -> FastStream:
    return Orchestrator(settings).app()
