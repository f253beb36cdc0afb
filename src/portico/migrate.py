"""Apply every service's Alembic migrations, creating the database first if it is missing."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

# Services that own a PostgreSQL schema, in the order their migrations run.
SERVICES_WITH_SCHEMAS = ("gateway", "orchestrator", "credentials")


def migrations_dir(service: str) -> Path | None:
    package = importlib.import_module(f"portico_{service}")
    assert package.__file__ is not None
    path = Path(package.__file__).parent / "migrations"
    return path if (path / "env.py").exists() else None


async def _create_database_if_missing(database_url: str) -> None:
    import asyncpg

    url = make_url(database_url)
    name = url.database
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    connection = await asyncpg.connect(admin_dsn)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def upgrade_all(database_url: str) -> list[str]:
    """Bring every service schema to its newest revision; returns the services migrated."""
    asyncio.run(_create_database_if_missing(database_url))
    done = []
    for service in SERVICES_WITH_SCHEMAS:
        path = migrations_dir(service)
        if path is None:
            continue
        config = Config()
        config.set_main_option("script_location", str(path))
        config.set_main_option("sqlalchemy.url", database_url)
        command.upgrade(config, "head")
        done.append(service)
    return done
