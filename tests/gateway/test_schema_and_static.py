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


def _editor_build(root: Path) -> Path:
    """What `npm run build` leaves in web/dist: an index and content-hashed assets."""
    (root / "index.html").write_text("<title>Portico editor</title>")
    (root / "favicon.svg").write_text("<svg/>")
    (root / "assets").mkdir()
    (root / "assets" / "index-3f9a1c.js").write_text("console.log('editor')")
    return root


PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_serves_the_editor_next_to_the_api(infra: Any, tmp_path: Path) -> None:
    async with (
        serve(gateway_settings(infra, web_dir=_editor_build(tmp_path))) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        root = await client.get("/", headers=PAGE)
        assert "Portico editor" in root.text
        assert root.headers["cache-control"] == "no-cache"
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        missing = await client.get("/api/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"

        asset = await client.get("/assets/index-3f9a1c.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
        assert "max-age=31536000" in asset.headers["cache-control"]
        revalidated = await client.get(
            "/assets/index-3f9a1c.js", headers={"If-None-Match": asset.headers["etag"]}
        )
        assert revalidated.status_code == 304
        assert "immutable" in revalidated.headers["cache-control"]
        assert (await client.get("/favicon.svg")).headers["cache-control"] == "no-cache"


async def test_editor_routes_answer_the_index_and_api_misses_stay_404(
    infra: Any, tmp_path: Path
) -> None:
    async with (
        serve(gateway_settings(infra, web_dir=_editor_build(tmp_path))) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        # The editor's own pages, opened or reloaded in a browser.
        for page in ("/workflows/abc", "/executions/xyz", "/credentials", "/login", "/a/b/c"):
            response = await client.get(page, headers=PAGE)
            assert response.status_code == 200, page
            assert "Portico editor" in response.text, page
            assert response.headers["cache-control"] == "no-cache", page
            assert response.headers["content-type"].startswith("text/html"), page
        head = await client.head("/workflows/abc", headers=PAGE)
        assert head.status_code == 200

        # Not a page: a missing hashed file, a request that takes no HTML, a wrong method.
        assert (await client.get("/assets/x.js", headers=PAGE)).status_code == 404
        assert (await client.get("/assets", headers=PAGE)).status_code == 404
        assert (await client.get("/workflows/abc")).status_code == 404
        json_only = {"Accept": "application/json"}
        assert (await client.get("/workflows/abc", headers=json_only)).status_code == 404
        assert (await client.post("/workflows/abc", headers=PAGE)).status_code == 405

        # The API's paths keep the API's answers, whatever the client accepts.
        for miss in ("/api/nope", "/api/workflows/abc/nope", "/api", "/hooks", "/docs/nope"):
            response = await client.get(miss, headers=PAGE)
            assert response.status_code == 404, miss
            assert response.json()["error"]["code"] == "not_found", miss
        unauthenticated = await client.get("/api/workflows", headers=PAGE)
        assert unauthenticated.status_code == 401
        for route in ("/docs", "/openapi.json", "/healthz", "/metrics"):
            answered = await client.get(route, headers=PAGE)
            assert answered.status_code == 200, route
            assert "Portico editor" not in answered.text, route
        assert (await client.post("/api/nope", headers=PAGE)).status_code == 404


async def test_without_an_editor_the_browser_lands_on_the_api_docs(infra: Any) -> None:
    async with (
        serve(gateway_settings(infra)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        landing = await client.get("/", follow_redirects=True)
        assert landing.status_code == 200
        assert landing.url.path == "/docs"
