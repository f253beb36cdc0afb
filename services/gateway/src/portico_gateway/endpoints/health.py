"""Probes and metrics: /healthz (the process answers), /readyz (DB and broker), /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from portico_gateway.dependencies import GatewayState, State

router = APIRouter(tags=["health"])

PROBE_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database_ok(state: GatewayState) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready", whatever raised it
        return False
    return True


async def _broker_ok(state: GatewayState) -> bool:
    try:
        return await state.broker.ping(timeout=PROBE_TIMEOUT_S)
    except Exception:
        return False


@router.get("/readyz", responses={503: {"description": "the database or RabbitMQ is unreachable"}})
async def readyz(state: State) -> JSONResponse:
    database, broker = await asyncio.gather(_database_ok(state), _broker_ok(state))
    checks: dict[str, Any] = {
        "database": "ok" if database else "unreachable",
        "broker": "ok" if broker else "unreachable",
    }
    if database and broker:
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, value in checks.items() if value != "ok")
    return JSONResponse(
        {
            "status": "not_ready",
            "checks": checks,
            "error": {"code": "not_ready", "message": f"unreachable: {failing}", "details": checks},
        },
        status_code=503,
        headers={"Retry-After": str(state.settings.unavailable_retry_after_s)},
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
