"""Wiring: the node.ready consumer (one queue per node type), the broker for the rest, the
shared HTTP client, the lifespan.

Concurrency: aiormq starts a task per delivery, so the consumer runs up to `prefetch`
messages at once; a sleeping wait or a slow HTTP call never holds up the next message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from faststream.rabbit import Channel, RabbitBroker

from portico_contracts.consumer import DirectConsumer
from portico_contracts.dead_letter import DeadLetterMiddleware
from portico_contracts.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    NODE_RESULT,
    NODES_EXCHANGE,
    RESULTS_EXCHANGE,
    RESULTS_QUEUE,
    STATUS_EXCHANGE,
)
from portico_executors.ai.providers import preload as preload_ai_sdks
from portico_executors.ai.rpc import register_ai_rpc
from portico_executors.attempts import AttemptChecker, OrchestratorRpc
from portico_executors.config import Settings
from portico_executors.consumer import ResultPublisher, node_ready_consumer
from portico_executors.credentials_client import CredentialsClient
from portico_executors.handlers import NodeReadyHandler, RecentMessages, make_node_ready_handler
from portico_executors.http_guard import HostPolicy, guarded_client
from portico_executors.progress import BrokerChannel, ProgressPublisher
from portico_executors.sandbox import SandboxLimits, SandboxPool
from portico_executors.service import ExecutorService

broker_logger = logging.getLogger("portico.executors.broker")


def build_broker(settings: Settings) -> RabbitBroker:
    """The broker of everything but node.ready (consumer.py): AI RPC, progress, topology."""
    return RabbitBroker(
        settings.amqp_url,
        default_channel=Channel(prefetch_count=settings.prefetch),
        middlewares=(DeadLetterMiddleware,),
        graceful_timeout=settings.graceful_timeout_s,
        # FastStream logs "Received"/"Processed" per message at this level: keep it below
        # what the logger lets through, off the hot path.
        logger=broker_logger,
        log_level=logging.DEBUG,
        # No FastDepends: it resolves each Context parameter in a worker thread, measured at
        # ~0.5 ms of CPU per message here. The handler takes the raw message (`undecoded`).
        apply_types=False,
    )


def build_consumer(
    settings: Settings, service: ExecutorService, rpc: OrchestratorRpc
) -> tuple[DirectConsumer, ResultPublisher, NodeReadyHandler]:
    consumer = node_ready_consumer(
        settings.amqp_url, settings.types, settings.prefetch, settings.graceful_timeout_s
    )
    results = ResultPublisher()
    checker = AttemptChecker(
        rpc.ask, settings.attempt_check_window_s, settings.attempt_check_timeout_s
    )
    # One RecentMessages per process: NodeReady ids are unique across types.
    handler = make_node_ready_handler(service, results, checker, RecentMessages())
    return consumer, results, handler


async def declare_topology(broker: RabbitBroker, settings: Settings) -> None:
    """Exchanges we publish to, and the queues that keep those messages if nobody listens."""
    await broker.declare_exchange(NODES_EXCHANGE)
    results = await broker.declare_exchange(RESULTS_EXCHANGE)
    dead_letters = await broker.declare_exchange(DEAD_LETTER_EXCHANGE)
    await broker.declare_exchange(STATUS_EXCHANGE)  # node progress goes out on it
    dead_queue = await broker.declare_queue(DEAD_LETTER_QUEUE)
    await dead_queue.bind(dead_letters, routing_key="")
    if settings.declare_results_queue:
        results_queue = await broker.declare_queue(RESULTS_QUEUE)
        await results_queue.bind(results, routing_key=NODE_RESULT)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    broker: RabbitBroker
    service: ExecutorService


@asynccontextmanager
async def sandbox_pool(settings: Settings) -> AsyncIterator[SandboxPool]:
    limits = SandboxLimits(settings.sandbox_memory_bytes, settings.max_rendered_bytes)
    pool = SandboxPool(settings.sandbox_workers, limits)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """Connect, declare, consume; on exit drain in-flight nodes and close everything."""
    policy = HostPolicy(settings.http_allow_hosts)
    async with (
        guarded_client(policy, settings.http_user_agent) as http,
        sandbox_pool(settings) as sandbox,
    ):
        # Both connect on their first question.
        credentials = CredentialsClient(
            settings.amqp_url, settings.credentials_timeout_s, settings.credentials_retries
        )
        progress = ProgressPublisher()
        service = ExecutorService(
            settings, http, sandbox, credentials=credentials, progress=progress
        )
        rpc = OrchestratorRpc(settings.amqp_url)
        broker = build_broker(settings)
        consumer, results, handle_node_ready = build_consumer(settings, service, rpc)
        progress.bind(BrokerChannel(broker))
        if "ai" in settings.types:
            preload_ai_sdks()  # seconds of imports: now, not in the first node's run
            register_ai_rpc(broker, credentials, http, settings.ai_timeout_s)
        await broker.connect()
        try:
            await declare_topology(broker, settings)
            await broker.start()
            await consumer.connect()
            await results.connect(consumer)
            await consumer.consume(handle_node_ready)
            yield Runtime(settings, broker, service)
        finally:
            # Waiting nodes hand their deliveries back at once; the rest finish (up to
            # graceful_timeout_s) before the channel closes and returns what is left.
            service.shutdown.set()
            await consumer.stop()
            await broker.stop()
            await rpc.close()
            await credentials.close()
