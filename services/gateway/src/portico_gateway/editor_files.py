"""Serving the built editor (`PORTICO_WEB_DIR`, the output of `npm run build` in web/).

The editor routes in the browser (`/workflows/<id>`, `/executions/<id>`, `/login`), so a page
request for a path that is no file gets `index.html` and the editor draws that page itself.
What is not a page keeps its 404: anything under the API's own paths (answered by the API's
JSON errors), a missing file under `/assets/`, and requests that do not accept HTML.

Caching: `index.html` (and every other file outside `/assets/`) must be revalidated, so a new
build is picked up at the next load; files under `/assets/` carry a content hash in their name,
so they never change and are cached for a year.
"""

from __future__ import annotations

import os
from typing import Final

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

# Paths that belong to the API: a miss there is the API's 404, never the editor's page.
API_PATHS: Final = (
    "/api",
    "/hooks",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
)
ASSETS: Final = "/assets"
INDEX: Final = "index.html"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"


def _under(route: str, prefix: str) -> bool:
    return route == prefix or route.startswith(prefix + "/")


def is_api_path(route: str) -> bool:
    return any(_under(route, prefix) for prefix in API_PATHS)


def wants_editor_page(route: str, scope: Scope) -> bool:
    """Is a miss on `route` a browser navigating to one of the editor's own pages?"""
    if _under(route, ASSETS):
        return False
    return "text/html" in Headers(scope=scope).get("accept", "")


class EditorFiles(StaticFiles):
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        super().__init__(directory=directory, html=False)
        self._assets = os.path.join(os.path.realpath(directory), ASSETS.lstrip("/"))

    def _is_hashed_asset(self, full_path: str | os.PathLike[str]) -> bool:
        # Decided by where the file is, not by the URL (`/assets/../index.html` is the index).
        real = os.path.realpath(full_path)
        return os.path.commonpath([real, self._assets]) == self._assets

    async def get_response(self, path: str, scope: Scope) -> Response:
        # `path` is the request's path inside the mount, normalized ("." for the root).
        if path == ".":
            return await super().get_response(INDEX, scope)
        route = "/" + path.replace(os.sep, "/")
        if is_api_path(route):
            raise HTTPException(status_code=404)
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or not wants_editor_page(route, scope):
                raise
        return await super().get_response(INDEX, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        cache = IMMUTABLE if self._is_hashed_asset(full_path) else REVALIDATE
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            headers={"Cache-Control": cache},
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response
