"""Check PostgreSQL and RabbitMQ answer before starting anything, and say what to start if not."""

from __future__ import annotations

import asyncio

import aio_pika
import asyncpg
from sqlalchemy.engine import make_url

from portico.settings import LauncherSettings

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_RABBITMQ = "rabbitmq-server -detached"


class PreflightError(RuntimeError):
    pass


async def _check_postgres(database_url: str) -> None:
    url = make_url(database_url)
    dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise PreflightError(
            f"PostgreSQL is not reachable at {url.host}:{url.port or 5432} ({exc}).\n"
            f"  Start it (e.g. `{START_POSTGRES}`) or set PORTICO_DATABASE_URL."
        ) from exc
    await connection.close()


async def _check_rabbitmq(amqp_url: str) -> None:
    try:
        connection = await asyncio.wait_for(aio_pika.connect(amqp_url), timeout=10)
    except Exception as exc:  # aio-pika raises several unrelated types for "not there"
        safe = amqp_url.split("@")[-1]
        raise PreflightError(
            f"RabbitMQ is not reachable at {safe} ({type(exc).__name__}: {exc}).\n"
            f"  Start it (e.g. `{START_RABBITMQ}`) or set PORTICO_AMQP_URL."
        ) from exc
    await connection.close()


async def check_infrastructure(settings: LauncherSettings) -> None:
    await _check_postgres(settings.database_url)
    await _check_rabbitmq(settings.amqp_url)
