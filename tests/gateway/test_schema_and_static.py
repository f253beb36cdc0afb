"""The migrations build exactly the tables the models describe; the editor's files are served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from portico_gateway.models import SCHEMA, Base
from tests.gateway.conftest import gateway_settings, serve


async def test_migrations_match_the_models(infra: Any) -> None:
    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "version_table_schema": SCHEMA,
                "include_name": lambda name, kind, _: kind != "schema" or name == SCHEMA,
            },
        )
        return list(compare_metadata(context, Base.metadata))

    engine = create_async_engine(infra.database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_serves_the_editor_next_to_the_api(infra: Any, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<title>Portico editor</title>")
    async with (
        serve(gateway_settings(infra, web_dir=tmp_path)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        assert "Portico editor" in (await client.get("/")).text
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        missing = await client.get("/api/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"


async def test_without_an_editor_the_browser_lands_on_the_api_docs(infra: Any) -> None:
    async with (
        serve(gateway_settings(infra)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        landing = await client.get("/", follow_redirects=True)
        assert landing.status_code == 200
        assert landing.url.path == "/docs"
