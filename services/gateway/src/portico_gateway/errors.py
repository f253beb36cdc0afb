"""Errors the gateway raises, and the handlers that turn every failure into one JSON shape.

Every error leaves as `{"error": {"code", "message", "details"}}`. The services raise
`PorticoError` subclasses that know nothing of HTTP; the status code is chosen here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portico_gateway.db_failures import database_unreachable

logger = logging.getLogger("portico.gateway")


class PorticoError(Exception):
    code = "error"
    status = 400
    # Seconds a client should wait before trying again; sent as Retry-After when set.
    retry_after_s: int | None = None

    def __init__(self, message: str, details: Any = None, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


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


class RateLimitedError(PorticoError):
    code, status = "rate_limited", 429


class UnavailableError(PorticoError):
    """Something this gateway depends on is down or saturated: a 503 with Retry-After (the
    configured default unless the raiser knows better)."""

    code, status = "unavailable", 503


class OrchestratorUnavailableError(UnavailableError):
    code = "orchestrator_unavailable"


class BrokerUnavailableError(UnavailableError):
    code = "broker_unavailable"


class DatabaseUnavailableError(UnavailableError):
    code = "database_unavailable"


class BusyError(UnavailableError):
    code = "busy"


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


def portico_error_response(exc: PorticoError, default_retry_after_s: int) -> JSONResponse:
    retry_after = exc.retry_after_s
    if retry_after is None and exc.status == 503:
        retry_after = default_retry_after_s
    headers = None if retry_after is None else {"Retry-After": str(retry_after)}
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


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


def install_error_handlers(app: FastAPI, retry_after_s: int) -> None:
    async def portico_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PorticoError)
        return portico_error_response(exc, retry_after_s)

    async def infrastructure_error(request: Request, exc: Exception) -> JSONResponse:
        if not database_unreachable(exc):
            return await _unexpected(request, exc)
        # An outage, not a bug: one line, no traceback, so a restart does not flood the log.
        logger.warning("database unreachable on %s %s: %r", request.method, request.url.path, exc)
        unavailable = DatabaseUnavailableError(
            "the database is unreachable; try again shortly", retry_after_s=retry_after_s
        )
        return portico_error_response(unavailable, retry_after_s)

    app.add_exception_handler(PorticoError, portico_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for infrastructure in (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        app.add_exception_handler(infrastructure, infrastructure_error)
    app.add_exception_handler(Exception, _unexpected)


class LastResortMiddleware:
    """Answers an exception no handler took with the JSON 500, without re-raising it.

    Starlette's outermost error middleware re-raises after answering, and uvicorn then
    closes the connection: a keep-alive client whose next request was already on its way
    saw a connection reset. Installed innermost, so the metrics still count the 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # half a response is out: only closing the connection can end it
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)
