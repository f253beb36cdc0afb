"""Wiring only: settings, database engine, broker, RPC client, hub, routes, middleware."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from portico_gateway.ai_client import AiClient
from portico_gateway.body_limit import BodyLimitMiddleware
from portico_gateway.broker import (
    attach_status_consumer,
    bind_status,
    declare_command_topology,
    make_broker,
    open_rpc_channel,
)
from portico_gateway.config import Settings, load_settings
from portico_gateway.credentials_client import CredentialsClient
from portico_gateway.db_failures import watch_engine
from portico_gateway.dependencies import GatewayState
from portico_gateway.editor_files import EditorFiles
from portico_gateway.endpoints import ROUTERS
from portico_gateway.errors import LastResortMiddleware, install_error_handlers
from portico_gateway.hub import StatusHub
from portico_gateway.metrics import Metrics, MetricsMiddleware
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.rate_limits import RateLimits
from portico_gateway.rpc import RpcClient
from portico_gateway.runs import expire_idempotency_keys
from portico_gateway.security import PasswordHashing
from portico_gateway.ws import REDACT_QUERY_API_KEYS

# At DEBUG these log whole AMQP frames, and a request to credentials.rpc carries a secret.
_FRAME_LOGGERS = ("aiormq", "aio_pika")


def _keep_frames_out_of_logs() -> None:
    """Whatever the log level, the AMQP clients never log below INFO here. Set on the loggers
    themselves, so a root logger lowered later (by a test, say) does not reach them."""
    for name in _FRAME_LOGGERS:
        frame_logger = logging.getLogger(name)
        frame_logger.setLevel(max(logging.INFO, frame_logger.getEffectiveLevel()))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _lifespan(
    settings: Settings, metrics: Metrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            pool_timeout=settings.db_pool_timeout_s,
            # No pool_pre_ping (three round trips per checkout): see db_failures.py for how
            # a connection killed by a database restart is replaced or retried instead.
            connect_args={"timeout": settings.db_connect_timeout_s},
        )
        watch_engine(engine)
        hub = StatusHub()
        metrics.bind_subscriptions(lambda: hub.subscription_count)

        async def on_reconnected(_: Any) -> None:
            await hub.reconnected()

        def on_status(routing_key: str, body: bytes) -> None:
            if routing_key.startswith("status."):  # progress chunks are not status events
                metrics.status_events.inc()
            hub.feed(routing_key, body)

        broker = make_broker(settings.amqp_url, on_reconnected)
        status_queue = attach_status_consumer(broker, on_status)
        try:
            await broker.start()
        except Exception as exc:
            await engine.dispose()
            where = _without_password(settings.amqp_url)
            raise RuntimeError(f"cannot connect to RabbitMQ at {where} ({exc!r})") from exc
        rpc = RpcClient(lambda: open_rpc_channel(broker))
        passwords = PasswordHashing(
            settings.password_hash_concurrency, settings.password_hash_queue
        )
        housekeeping: asyncio.Task[None] | None = None
        try:
            await declare_command_topology(broker)
            await bind_status(broker, status_queue, hub.bindings)
            await rpc.start()
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            app.state.gateway = GatewayState(
                settings=settings,
                engine=engine,
                sessions=sessions,
                broker=broker,
                orchestrator=OrchestratorClient(rpc, settings.rpc_timeout_s),
                credentials=CredentialsClient(rpc, settings.rpc_timeout_s),
                ai=AiClient(rpc, settings.ai_generate_timeout_s),
                hub=hub,
                metrics=metrics,
                rate_limits=RateLimits(settings),
                passwords=passwords,
            )
            housekeeping = asyncio.create_task(
                expire_idempotency_keys(
                    sessions, settings.idempotency_ttl_s, settings.idempotency_cleanup_interval_s
                )
            )
            yield
        finally:
            if housekeeping is not None:
                housekeeping.cancel()
            passwords.close()
            await rpc.stop()
            await broker.stop()
            await engine.dispose()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    # uvicorn logs each WebSocket's URL; keep `?api_key=` out (a repeated add is a no-op).
    logging.getLogger("uvicorn.error").addFilter(REDACT_QUERY_API_KEYS)
    _keep_frames_out_of_logs()
    metrics = Metrics()
    app = FastAPI(
        title="Portico gateway",
        version="0.1.0",
        description="Workflows, executions and live status of Portico.",
        lifespan=_lifespan(settings, metrics),
    )
    install_error_handlers(app, settings.unavailable_retry_after_s)
    for router in ROUTERS:
        app.include_router(router)
    # Added first, so innermost: every other middleware sees its 500 as a normal response.
    app.add_middleware(LastResortMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    # Added last, so outermost: refused bodies and CORS preflights are counted too.
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.web_dir is not None:
        # Last, so every API route wins over a file of the same name (see editor_files.py).
        app.mount("/", EditorFiles(settings.web_dir), name="web")
    else:
        # No editor build to serve: a browser opening Portico lands on the live API docs.
        app.add_api_route("/", _to_api_docs, include_in_schema=False)
    return app


async def _to_api_docs() -> RedirectResponse:
    return RedirectResponse("/docs")
