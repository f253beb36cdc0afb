"""Workflows and their immutable versions: the logic, without HTTP. Callers own the transaction.

Every save runs `validate_graph`, so a stored version is always a graph the orchestrator can
run; an execution is pinned to the version it started with by carrying that graph along.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from portico_contracts.graph import (
    GraphProblem,
    GraphValidationError,
    WorkflowGraph,
    validate_graph,
)
from portico_contracts.messages import StartExecution
from portico_contracts.nodes import NODE_TYPES
from portico_gateway import repository as repo
from portico_gateway.errors import (
    ConflictError,
    InvalidRequestError,
    InvalidWorkflowError,
    NotFoundError,
)
from portico_gateway.json_safety import unstorable
from portico_gateway.models import Workflow, WorkflowVersion
from portico_gateway.schemas import (
    EXPORT_FORMAT,
    EXPORT_FORMAT_VERSION,
    ExportSource,
    RunRequest,
    VersionDetail,
    VersionSummary,
    WorkflowDetail,
    WorkflowExport,
    WorkflowFields,
)
from portico_gateway.service import Principal, is_uuid, utcnow
from portico_gateway.workflow_credentials import CredentialLookup, credential_problems

MANUAL_TRIGGER = "trigger.manual"


class VersionConflictError(ConflictError):
    code = "version_conflict"


def checked_graph(data: Any) -> WorkflowGraph:
    """Parse and validate a graph, or raise InvalidWorkflowError listing every problem and node."""
    if not isinstance(data, dict):
        raise InvalidWorkflowError("the workflow must be a JSON object with name, nodes and edges")
    unsafe = [
        GraphProblem(
            code="unstorable_value",
            node_id=_node_at(data, path),
            field=path,
            message=f"{path}: {reason}",
        )
        for path, reason in unstorable(data)
    ]
    if unsafe:
        raise _invalid(unsafe)
    try:
        return validate_graph(data)
    except GraphValidationError as exc:
        raise _invalid(exc.problems) from exc


def _node_at(data: dict[str, Any], path: str) -> str | None:
    """The id of the node a path like `nodes.3.config.url` points into, if it has one."""
    parts = path.split(".")
    nodes = data.get("nodes")
    if len(parts) < 2 or parts[0] != "nodes" or not parts[1].isdigit():
        return None
    if not isinstance(nodes, list) or int(parts[1]) >= len(nodes):
        return None
    node = nodes[int(parts[1])]
    node_id = node.get("id") if isinstance(node, dict) else None
    return node_id if isinstance(node_id, str) else None


def _invalid(problems: list[GraphProblem]) -> InvalidWorkflowError:
    count = len(problems)
    listed = "; ".join(problem.message for problem in problems[:20])
    more = f" (and {count - 20} more)" if count > 20 else ""
    return InvalidWorkflowError(
        f"the workflow has {count} problem{'s' if count != 1 else ''}: {listed}{more}",
        details=[problem.model_dump() for problem in problems],
    )


def _stored(graph: WorkflowGraph) -> dict[str, Any]:
    # The normalized graph (defaults filled in), so the editor and an export see every field.
    return graph.model_dump(mode="json")


def workflow_fields(workflow: Workflow) -> WorkflowFields:
    return WorkflowFields(
        id=workflow.id,
        name=workflow.name,
        description=workflow.description,
        latest_version=workflow.latest_version,
        active=workflow.active,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )


def _detail(workflow: Workflow, version: WorkflowVersion) -> WorkflowDetail:
    return WorkflowDetail(
        **workflow_fields(workflow).model_dump(), version=version.version, graph=version.graph
    )


async def _workflow(
    db: AsyncSession,
    principal: Principal,
    workflow_id: str,
    *,
    for_update: bool = False,
) -> Workflow:
    # Another tenant's workflow and a missing one look the same: 404, never 403.
    found = None
    if is_uuid(workflow_id):
        found = await repo.get_workflow(db, principal.tenant_id, workflow_id, for_update=for_update)
    if found is None:
        raise NotFoundError(f"workflow {workflow_id} not found")
    return found


async def _version(
    db: AsyncSession, principal: Principal, workflow: Workflow, number: int
) -> WorkflowVersion:
    version = await repo.get_version(db, principal.tenant_id, workflow.id, number)
    if version is None:
        raise NotFoundError(
            f"workflow {workflow.id} has no version {number} (latest is {workflow.latest_version})"
        )
    return version


async def _check_credentials(graph: WorkflowGraph, lookup: CredentialLookup) -> None:
    problems = await credential_problems(graph, lookup)
    if problems:
        raise _invalid(problems)


async def create_workflow(
    db: AsyncSession, principal: Principal, data: Any, lookup: CredentialLookup
) -> WorkflowDetail:
    graph = checked_graph(data)
    await _check_credentials(graph, lookup)
    workflow, version = await repo.add_workflow(
        db, principal.tenant_id, _stored(graph), principal.user_id
    )
    return _detail(workflow, version)


async def update_workflow(
    db: AsyncSession,
    principal: Principal,
    workflow_id: str,
    data: Any,
    expected_version: int | None,
    lookup: CredentialLookup,
) -> WorkflowDetail:
    """Save a new version. With `expected_version`, refuse if someone else saved meanwhile."""
    await _workflow(db, principal, workflow_id)  # a missing workflow is a 404 before all else
    graph = checked_graph(data)
    # Asked before the row is locked: the lock is not held while another service answers.
    await _check_credentials(graph, lookup)
    workflow = await _workflow(db, principal, workflow_id, for_update=True)
    if expected_version is not None and expected_version != workflow.latest_version:
        raise VersionConflictError(
            f"workflow {workflow_id} is at version {workflow.latest_version}, not "
            f"{expected_version}: reload it, reapply your change and save again",
            details={"latest_version": workflow.latest_version},
        )
    version = await repo.add_version(db, workflow, _stored(graph), principal.user_id, utcnow())
    return _detail(workflow, version)


async def get_workflow(db: AsyncSession, principal: Principal, workflow_id: str) -> WorkflowDetail:
    workflow = await _workflow(db, principal, workflow_id)
    return _detail(workflow, await _version(db, principal, workflow, workflow.latest_version))


async def list_workflows(
    db: AsyncSession, principal: Principal, limit: int, offset: int, name_contains: str | None
) -> tuple[list[WorkflowFields], int]:
    """A page of the caller's workflows, and how many match in all."""
    rows, total = await repo.list_workflows(db, principal.tenant_id, limit, offset, name_contains)
    return [workflow_fields(row) for row in rows], total


async def delete_workflow(db: AsyncSession, principal: Principal, workflow_id: str) -> None:
    workflow = await _workflow(db, principal, workflow_id, for_update=True)
    await repo.soft_delete_workflow(db, workflow, utcnow())


async def require_workflow(db: AsyncSession, principal: Principal, workflow_id: str) -> None:
    """Raise NotFoundError unless the workflow exists and belongs to the caller's tenant."""
    await _workflow(db, principal, workflow_id)


async def list_versions(
    db: AsyncSession, principal: Principal, workflow_id: str
) -> list[VersionSummary]:
    workflow = await _workflow(db, principal, workflow_id)
    rows = await repo.list_versions(db, principal.tenant_id, workflow.id)
    return [
        VersionSummary(version=number, created_at=created_at, created_by=created_by, name=name)
        for number, created_at, created_by, name in rows
    ]


async def get_version(
    db: AsyncSession, principal: Principal, workflow_id: str, number: int
) -> VersionDetail:
    workflow = await _workflow(db, principal, workflow_id)
    version = await _version(db, principal, workflow, number)
    return VersionDetail(
        workflow_id=workflow.id,
        version=version.version,
        name=version.graph.get("name"),
        created_at=version.created_at,
        created_by=version.created_by,
        graph=version.graph,
    )


async def export_workflow(
    db: AsyncSession, principal: Principal, workflow_id: str
) -> WorkflowExport:
    detail = await get_workflow(db, principal, workflow_id)
    return WorkflowExport(
        exported_at=utcnow(),
        source=ExportSource(workflow_id=detail.id, version=detail.version),
        graph=detail.graph,
    )


def _imported_graph(document: Any) -> Any:
    """The graph inside an export document, or the document itself when it is a bare graph."""
    if not isinstance(document, dict) or "format" not in document:
        return document
    if document["format"] != EXPORT_FORMAT:
        raise InvalidRequestError(
            f"unknown export format {document['format']!r}; expected {EXPORT_FORMAT!r}"
        )
    if document.get("format_version", EXPORT_FORMAT_VERSION) != EXPORT_FORMAT_VERSION:
        raise InvalidRequestError(
            f"export format_version {document.get('format_version')!r} is not supported "
            f"(this server reads version {EXPORT_FORMAT_VERSION})"
        )
    if "graph" not in document:
        raise InvalidRequestError("the export document has no 'graph'")
    return document["graph"]


async def import_workflow(
    db: AsyncSession, principal: Principal, document: Any, lookup: CredentialLookup
) -> WorkflowDetail:
    """Create a new workflow (version 1) from an export document or a bare graph."""
    return await create_workflow(db, principal, _imported_graph(document), lookup)


def _trigger(graph: WorkflowGraph, requested: str | None, number: int) -> str:
    if requested is not None:
        node = graph.node_map.get(requested)
        if node is None:
            raise InvalidRequestError(
                f"trigger_node_id '{requested}' is not a node of version {number}"
            )
        node_type = NODE_TYPES.get(node.type)
        if node_type is None or not node_type.is_trigger:
            raise InvalidRequestError(f"node '{requested}' is a {node.type} node, not a trigger")
        return node.id
    for node in graph.nodes:
        if node.type == MANUAL_TRIGGER:
            return node.id
    raise InvalidRequestError(
        f"version {number} has no {MANUAL_TRIGGER} node; add one or pass trigger_node_id"
    )


def _runnable(version: WorkflowVersion) -> WorkflowGraph:
    try:
        return WorkflowGraph.model_validate(version.graph)
    except ValidationError as exc:
        # Saved under older rules that have since tightened: say so rather than fail.
        raise InvalidRequestError(
            f"version {version.version} no longer matches the workflow format; "
            "open it and save it again"
        ) from exc


def run_command(
    principal: Principal,
    workflow_id: str,
    number: int,
    graph: WorkflowGraph,
    request: RunRequest,
    *,
    execution_id: str | None = None,
    trigger_node_id: str | None = None,
) -> StartExecution:
    """The start command for a manual run: a snapshot of the chosen version travels with it.
    A repeated request (idempotency key) passes the first one's execution id and trigger."""
    return StartExecution(
        tenant_id=principal.tenant_id,
        execution_id=execution_id or str(uuid.uuid4()),
        workflow_id=workflow_id,
        workflow_version=number,
        graph=graph,
        trigger_node_id=trigger_node_id or _trigger(graph, request.trigger_node_id, number),
        payload=request.payload,
        mode="manual",
    )


# --- for activation and webhooks (activation.py, webhooks.py) -----------------------------------


async def locked_workflow(db: AsyncSession, principal: Principal, workflow_id: str) -> Workflow:
    """The caller's live workflow, its row locked until the transaction ends (or 404)."""
    return await _workflow(db, principal, workflow_id, for_update=True)


async def latest_version(
    db: AsyncSession, principal: Principal, workflow: Workflow
) -> tuple[WorkflowVersion, WorkflowGraph]:
    """The workflow's latest saved version, with its graph parsed."""
    version = await _version(db, principal, workflow, workflow.latest_version)
    return version, _runnable(version)


def detail(workflow: Workflow, version: WorkflowVersion) -> WorkflowDetail:
    return _detail(workflow, version)
