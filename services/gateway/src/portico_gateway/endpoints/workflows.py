"""Workflows: create, read, save a new version, delete, versions, export/import, run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from portico_contracts.queries import MAX_LATEST_EXECUTIONS_WORKFLOWS
from portico_gateway import activation, runs, webhook_tests
from portico_gateway import workflow_service as workflows
from portico_gateway.broker import publish_activation
from portico_gateway.dependencies import (
    DB,
    CredentialTypes,
    CurrentPrincipal,
    IdempotencyKeyHeader,
    RunCaller,
    State,
)
from portico_gateway.errors import InvalidRequestError
from portico_gateway.json_safety import has_unstorable_characters
from portico_gateway.rate_limits import Rule
from portico_gateway.schemas import (
    MAX_VERSION,
    MAX_WORKFLOW_QUERY,
    RunAccepted,
    RunRequest,
    VersionDetail,
    VersionSummary,
    WebhookTestStatus,
    WorkflowDetail,
    WorkflowExport,
    WorkflowList,
)
from portico_gateway.workflow_list import with_last_executions

router = APIRouter(prefix="/api/workflows", tags=["workflows"])

EXAMPLE_GRAPH: dict[str, Any] = {
    "name": "Hello",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "shape", "type": "transform", "config": {"mapping": {"hi": "{{ trigger.name }}"}}},
    ],
    "edges": [{"source": "start", "target": "shape"}],
}

# The body is taken as a plain object and validated by `validate_graph`, so shape mistakes and
# graph mistakes come back together as one `invalid_workflow` list naming each node.
GraphBody = Annotated[
    dict[str, Any],
    Body(
        description="A workflow graph: name, description, nodes, edges.",
        examples=[EXAMPLE_GRAPH],
    ),
]
WorkflowId = Annotated[str, Path(max_length=100)]


@router.post("", status_code=201)
async def create_workflow(
    graph: GraphBody, db: DB, principal: CurrentPrincipal, credentials: CredentialTypes
) -> WorkflowDetail:
    """Save a new workflow as version 1."""
    return await workflows.create_workflow(db, principal, graph, credentials)


@router.get("")
async def list_workflows(
    db: DB,
    principal: CurrentPrincipal,
    state: State,
    limit: Annotated[int, Query(ge=1, le=MAX_LATEST_EXECUTIONS_WORKFLOWS)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_WORKFLOW_QUERY,
            description="Only workflows whose name contains this, ignoring case.",
        ),
    ] = None,
) -> WorkflowList:
    """Workflows of the caller, most recently saved first, with their latest version number
    and their most recent execution (`total` counts every match of `q`)."""
    if q is not None and has_unstorable_characters(q):
        raise InvalidRequestError("q must not contain a NUL character or a lone surrogate")
    rows, total = await workflows.list_workflows(db, principal, limit, offset, q or None)
    await db.commit()  # release the connection while the orchestrator answers
    return await with_last_executions(state.orchestrator, principal.tenant_id, rows, total)


@router.post("/import", status_code=201)
async def import_workflow(
    document: Annotated[dict[str, Any], Body(description="An export document or a bare graph.")],
    db: DB,
    principal: CurrentPrincipal,
    credentials: CredentialTypes,
) -> WorkflowDetail:
    """Create a workflow from `GET /api/workflows/{id}/export` output (or a bare graph)."""
    return await workflows.import_workflow(db, principal, document, credentials)


@router.get("/{workflow_id}")
async def get_workflow(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal
) -> WorkflowDetail:
    return await workflows.get_workflow(db, principal, workflow_id)


@router.put("/{workflow_id}")
async def update_workflow(
    workflow_id: WorkflowId,
    graph: GraphBody,
    db: DB,
    principal: CurrentPrincipal,
    credentials: CredentialTypes,
    state: State,
    expected_version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> WorkflowDetail:
    """Save the graph as a new immutable version.

    Pass `expected_version` (query, or a top-level body field) to get a 409 instead of
    overwriting a version someone else saved since you loaded it.
    """
    graph = dict(graph)
    if "expected_version" in graph:
        in_body = graph.pop("expected_version")
        if (
            not isinstance(in_body, int)
            or isinstance(in_body, bool)
            or not 1 <= in_body <= MAX_VERSION
        ):
            raise InvalidRequestError("expected_version must be a positive integer")
        expected_version = expected_version or in_body
    detail = await workflows.update_workflow(
        db, principal, workflow_id, graph, expected_version, credentials
    )
    # An active workflow's triggers follow it to the new version (409 if a path is taken).
    message = await activation.follow_save(db, principal, workflow_id)
    if message is not None:  # told before commit: a broker down fails the save (503) whole
        await publish_activation(state.broker, message)
    await db.commit()
    return detail


@router.delete("/{workflow_id}", status_code=204)
async def delete_workflow(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal, state: State
) -> Response:
    """Delete the workflow (deactivated first). Its versions stay for the executions that
    ran them."""
    message = await activation.before_delete(db, principal, workflow_id)
    await workflows.delete_workflow(db, principal, workflow_id)
    if message is not None:
        await publish_activation(state.broker, message)
    await db.commit()
    return Response(status_code=204)


@router.post("/{workflow_id}/activate")
async def activate_workflow(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal, state: State
) -> WorkflowDetail:
    """Turn on the latest version's webhook, cron and event triggers. Activating again is
    harmless (and re-sends the activation). 409 when a webhook path belongs to another
    active workflow."""
    detail, message = await activation.activate(db, principal, workflow_id)
    await publish_activation(state.broker, message)
    await db.commit()
    return detail


@router.post("/{workflow_id}/deactivate")
async def deactivate_workflow(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal, state: State
) -> WorkflowDetail:
    """Turn its triggers off; manual runs still work. Deactivating again is harmless."""
    detail, message = await activation.deactivate(db, principal, workflow_id)
    await publish_activation(state.broker, message)
    await db.commit()
    return detail


@router.get("/{workflow_id}/versions")
async def list_versions(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal
) -> list[VersionSummary]:
    """Every saved version, newest first (graphs left out)."""
    return await workflows.list_versions(db, principal, workflow_id)


@router.get("/{workflow_id}/versions/{number}")
async def get_version(
    workflow_id: WorkflowId,
    number: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    db: DB,
    principal: CurrentPrincipal,
) -> VersionDetail:
    return await workflows.get_version(db, principal, workflow_id, number)


@router.get("/{workflow_id}/export")
async def export_workflow(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal
) -> WorkflowExport:
    """The latest version as a portable document that `POST /api/workflows/import` accepts."""
    return await workflows.export_workflow(db, principal, workflow_id)


@router.post(
    "/{workflow_id}/run",
    status_code=202,
    responses={429: {"description": "too many runs for this account; see Retry-After"}},
)
async def run_workflow(
    workflow_id: WorkflowId,
    caller: RunCaller,
    state: State,
    body: RunRequest | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RunAccepted:
    """Start an execution from the first `trigger.manual` node (or `trigger_node_id`).

    The answer comes once the orchestrator has recorded the execution, so it can be read
    at once; if the orchestrator is slow or down, the start command stays queued durably and
    the answer is still 202.
    """
    await state.rate_limits.hit(Rule.RUN, caller.principal.tenant_id)
    return await runs.start_run(
        state.reads,
        state.graphs,
        state.orchestrator,
        caller,
        workflow_id,
        body or RunRequest(),
        idempotency_key,
        state.settings.idempotency_ttl_s,
    )


@router.post("/{workflow_id}/webhook-test")
async def listen_for_test_webhook(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal, state: State
) -> WebhookTestStatus:
    """Listen (PORTICO_WEBHOOK_TEST_LISTEN_S, 120 s by default) for one request to
    `/hooks/test/{path}` of the latest version's webhook node; it starts a `test` execution,
    active or not. Listening again forgets what was caught before."""
    return await webhook_tests.start_listening(
        db, principal, workflow_id, state.settings.webhook_test_listen_s
    )


@router.get("/{workflow_id}/webhook-test")
async def test_webhook_status(
    workflow_id: WorkflowId, db: DB, principal: CurrentPrincipal
) -> WebhookTestStatus:
    """Whether it still listens, and the request caught with the execution it started."""
    return await webhook_tests.listening(db, principal, workflow_id)
