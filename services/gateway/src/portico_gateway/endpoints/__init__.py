"""HTTP and WebSocket routes, one module per area; `ROUTERS` is what the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from portico_gateway import ws
from portico_gateway.endpoints import (
    ai,
    api_keys,
    auth,
    credentials,
    dead_letters,
    executions,
    health,
    hooks,
    node_types,
    schedules,
    workflows,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    api_keys.router,
    workflows.router,
    executions.router,
    dead_letters.router,
    schedules.router,
    node_types.router,
    credentials.router,
    ai.router,
    health.router,
    ws.router,
    hooks.router,
)
