"""Webhook requests: from an HTTP request to a trigger output and a start command.

The output is what the webhook node hands on: method, path, query, headers (lower-case,
without Cookie and Authorization, which belong to the caller, not the workflow) and body
(parsed JSON, form fields as an object, else text).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import StartExecution
from portico_contracts.triggers import WebhookTriggerConfig
from portico_gateway import webhook_repository as hooks_repo
from portico_gateway.activation import webhook_configs
from portico_gateway.credentials_client import CredentialsClient
from portico_gateway.db_failures import on_live_connection
from portico_gateway.errors import InvalidRequestError, NotFoundError, PorticoError
from portico_gateway.graph_cache import GraphCache
from portico_gateway.json_safety import unstorable
from portico_gateway.webhook_auth import check_webhook
from portico_gateway.webhook_presets import Preset, shaped

PRIVATE_HEADERS = frozenset({"cookie", "authorization"})
FORM_TYPE = "application/x-www-form-urlencoded"


class PayloadTooLargeError(PorticoError):
    code, status = "payload_too_large", 413


class MethodNotAllowedError(PorticoError):
    code, status = "method_not_allowed", 405


class NoSuchHookError(NotFoundError):
    code = "webhook_not_found"


def no_hook(path: str) -> NoSuchHookError:
    # The same answer for a path never used and one of an inactive workflow: nothing leaks.
    return NoSuchHookError(f"no active webhook listens on '{path}'")


def check_method(config: WebhookTriggerConfig, method: str) -> None:
    if method not in config.methods:
        allowed = ", ".join(config.methods)
        raise MethodNotAllowedError(
            f"this webhook accepts {allowed}, not {method}",
            details={"allowed": list(config.methods)},
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"webhook body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's JSONB cannot store them.
    raise ValueError(f"{name} is not JSON")


def parse_body(content_type: str, raw: bytes) -> Any:
    """JSON parsed when declared JSON (and valid), form fields as an object, else text."""
    media = content_type.split(";")[0].strip().lower()
    text = raw.decode("utf-8", errors="replace")
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):  # not JSON after all (or absurdly deep): text
            return text
    if media == FORM_TYPE:
        return dict(parse_qsl(text, keep_blank_values=True))
    return text


def lower_headers(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


async def authenticate(
    hook: Hook, request: Request, raw: bytes, credentials: CredentialsClient
) -> None:
    """401 unless the request passes the node's auth check (see webhook_auth.py)."""
    await check_webhook(
        hook.config.auth,
        hook.credential_id,
        hook.version.tenant_id,
        raw,
        lower_headers(request),
        credentials,
    )


def trigger_output(
    request: Request, path: str, raw: bytes, preset: Preset = "none"
) -> dict[str, Any]:
    headers = {
        name: value for name, value in lower_headers(request).items() if name not in PRIVATE_HEADERS
    }
    output = {
        "method": request.method,
        "path": path,
        "query": dict(request.query_params),
        "headers": headers,
        "body": parse_body(request.headers.get("content-type", ""), raw),
    }
    problems = unstorable(output)
    if problems:
        listed = "; ".join(f"{where}: {reason}" for where, reason in problems)
        raise InvalidRequestError(
            f"the request cannot become a trigger output ({listed}); send text without NUL "
            "characters",
            details=[{"field": where, "message": reason} for where, reason in problems],
        )
    return shaped(preset, output)


@dataclass(frozen=True)
class VersionRef:
    """A saved version, by its keys."""

    tenant_id: str
    workflow_id: str
    version: int


@dataclass(frozen=True)
class Hook:
    """The webhook node a request reached, in the saved version that will run."""

    version: VersionRef
    graph: WorkflowGraph
    node_id: str
    config: WebhookTriggerConfig

    @property
    def credential_id(self) -> str | None:
        """The `hmac_secret` credential a signed webhook is checked against."""
        return self.graph.node_map[self.node_id].credential_id

    def start_command(self, output: dict[str, Any], *, test: bool) -> StartExecution:
        return StartExecution(
            tenant_id=self.version.tenant_id,
            execution_id=str(uuid.uuid4()),
            workflow_id=self.version.workflow_id,
            workflow_version=self.version.version,
            graph=self.graph,
            trigger_node_id=self.node_id,
            payload=output,
            mode="test" if test else "webhook",
        )


def hook_on(
    version: VersionRef, graph: WorkflowGraph, path: str, node_id: str | None = None
) -> Hook | None:
    """The webhook node of `version` listening on `path` (and being `node_id`, if given)."""
    for found_id, config in webhook_configs(graph).items():
        if config.path == path and node_id in (None, found_id):
            return Hook(version, graph, found_id, config)
    return None


async def live_hook(reads: AsyncEngine, graphs: GraphCache, path: str) -> Hook:
    """The webhook node of the active workflow owning `path` (or 404): one statement on an
    autocommit connection, and a second only when the version's graph is not cached."""

    async def lookup(connection: AsyncConnection) -> Hook | None:
        route = await hooks_repo.route_by_path(connection, path)
        if route is None:
            return None
        tenant_id, workflow_id, number, node_id = route
        graph = await graphs.graph(connection, tenant_id, workflow_id, number)
        if graph is None:
            return None
        return hook_on(VersionRef(tenant_id, workflow_id, number), graph, path, node_id)

    hook = await on_live_connection(reads, lookup)
    if hook is None:
        raise no_hook(path)
    return hook
