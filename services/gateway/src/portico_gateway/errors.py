"""Errors the gateway raises, and the handlers that turn every failure into one JSON shape.

Every error leaves as `{"error": {"code", "message", "details"}}`. The services raise
`PorticoError` subclasses that know nothing of HTTP; the status code is chosen here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("portico.gateway")


class PorticoError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(PorticoError):
    code, status = "not_found", 404


class UnauthenticatedError(PorticoError):
    code, status = "unauthenticated", 401


class InvalidCredentialsError(PorticoError):
    code, status = "invalid_credentials", 401


class ConflictError(PorticoError):
    code, status = "conflict", 409


class InvalidRequestError(PorticoError):
    code, status = "invalid_request", 422


class InvalidWorkflowError(PorticoError):
    code, status = "invalid_workflow", 422


class OrchestratorUnavailableError(PorticoError):
    code, status = "orchestrator_unavailable", 503


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class ErrorJSONResponse(JSONResponse):
    """ASCII-escaped JSON: an error may quote client input, and a lone surrogate in it must
    not turn the error itself into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), default=str).encode()


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = error_body(code, message, details)
    return ErrorJSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # "body.nodes.0.id" reads better than the raw tuple, and a person can find the field.
    return ".".join(str(part) for part in loc)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            # loc is ("body", <offset>): say what is wrong and where, not "body.17".
            offset = error.get("loc", ("body", "?"))[-1]
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            message = f"the body is not valid JSON: {reason} (at character {offset})"
            details.append({"field": "body", "message": message})
            continue
        details.append({"field": _field(error.get("loc", ())), "message": error.get("msg", "")})
    return details


async def _portico_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PorticoError)
    return error_response(exc.status, exc.code, exc.message, exc.details)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc)
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
    return error_response(422, "validation_error", message[:2000], details)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such route: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        allowed = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow")
        message = f"{request.method} is not allowed on {request.url.path}"
        if allowed:
            message += f" (allowed: {allowed})"
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A 500 is a bug: log it with the route so it can be found and fixed.
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PorticoError, _portico_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
