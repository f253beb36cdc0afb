"""Activating a workflow: its webhook paths are claimed here, and the orchestrator is told
(WorkflowActivated / WorkflowDeactivated) to start or stop its cron and event triggers.

The message goes out (confirmed) while the workflow row is still locked, before the change
commits: when the broker is down, nothing is saved and the caller gets a 503, so the flag a
user sees never claims triggers the orchestrator was not told of. (A database failure in the
instant after the publish leaves the orchestrator ahead; activating or deactivating again
sets both straight, as both messages are idempotent.)
A workflow without webhook, cron or event triggers may be activated; it is harmless.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import Message, WorkflowActivated, WorkflowDeactivated
from portico_contracts.triggers import WebhookTriggerConfig
from portico_gateway import webhook_repository as hooks_repo
from portico_gateway import workflow_service as workflows
from portico_gateway.errors import ConflictError, InvalidWorkflowError
from portico_gateway.models import WebhookRoute, Workflow
from portico_gateway.schemas import WorkflowDetail
from portico_gateway.service import Principal

WEBHOOK_TRIGGER = "trigger.webhook"
# `/hooks/test/...` is the test URL, so no live webhook may own a path under `test/`.
TEST_PREFIX = "test/"


class WebhookPathTakenError(ConflictError):
    code = "webhook_path_taken"


def webhook_configs(graph: WorkflowGraph) -> dict[str, WebhookTriggerConfig]:
    """The webhook trigger nodes of a graph, by node id, with their parsed configs."""
    found: dict[str, WebhookTriggerConfig] = {}
    for node in graph.nodes:
        if node.type != WEBHOOK_TRIGGER:
            continue
        try:
            found[node.id] = WebhookTriggerConfig.model_validate(node.config)
        except ValidationError as exc:  # saved graphs validate; this is an older rule
            raise InvalidWorkflowError(f"webhook node '{node.id}': {exc}") from exc
    return found


def _check_paths(configs: dict[str, WebhookTriggerConfig]) -> None:
    seen: dict[str, str] = {}
    for node_id, config in configs.items():
        if config.path.startswith(TEST_PREFIX):
            raise InvalidWorkflowError(
                f"webhook node '{node_id}': path '{config.path}' starts with '{TEST_PREFIX}', "
                "which is reserved for the test URL; choose another path"
            )
        if config.path in seen:
            raise InvalidWorkflowError(
                f"webhook nodes '{seen[config.path]}' and '{node_id}' share the path "
                f"'{config.path}'; give each its own"
            )
        seen[config.path] = node_id


async def _claim_routes(
    db: AsyncSession, workflow: Workflow, version: int, configs: dict[str, WebhookTriggerConfig]
) -> None:
    """Replace the workflow's routes by those of `version`; 409 naming a path someone owns."""
    _check_paths(configs)
    await hooks_repo.delete_routes(db, workflow.id)
    for node_id, config in configs.items():
        route = WebhookRoute(
            path=config.path,
            tenant_id=workflow.tenant_id,
            workflow_id=workflow.id,
            node_id=node_id,
            version=version,
        )
        if await hooks_repo.claim_route(db, route) is not None:
            raise WebhookPathTakenError(
                f"the webhook path '{config.path}' (node '{node_id}') belongs to another "
                "active workflow; choose another path or deactivate that workflow",
                details={"path": config.path, "node_id": node_id},
            )


async def _turn_on(db: AsyncSession, principal: Principal, workflow: Workflow) -> WorkflowActivated:
    version, graph = await workflows.latest_version(db, principal, workflow)
    await _claim_routes(db, workflow, version.version, webhook_configs(graph))
    workflow.active = True
    workflow.active_version = version.version
    workflow.activation_sequence += 1
    await db.flush()
    return WorkflowActivated(
        sequence=workflow.activation_sequence,
        tenant_id=workflow.tenant_id,
        workflow_id=workflow.id,
        workflow_version=version.version,
        graph=graph,
    )


async def _turn_off(db: AsyncSession, workflow: Workflow) -> WorkflowDeactivated:
    await hooks_repo.delete_routes(db, workflow.id)
    workflow.active = False
    workflow.active_version = None
    workflow.activation_sequence += 1
    await db.flush()
    return WorkflowDeactivated(
        sequence=workflow.activation_sequence,
        tenant_id=workflow.tenant_id,
        workflow_id=workflow.id,
    )


async def activate(
    db: AsyncSession, principal: Principal, workflow_id: str
) -> tuple[WorkflowDetail, Message]:
    """Activate the latest version; the message to publish once this transaction commits."""
    workflow = await workflows.locked_workflow(db, principal, workflow_id)
    message = await _turn_on(db, principal, workflow)
    version, _ = await workflows.latest_version(db, principal, workflow)
    return workflows.detail(workflow, version), message


async def deactivate(
    db: AsyncSession, principal: Principal, workflow_id: str
) -> tuple[WorkflowDetail, Message]:
    workflow = await workflows.locked_workflow(db, principal, workflow_id)
    message = await _turn_off(db, workflow)
    version, _ = await workflows.latest_version(db, principal, workflow)
    return workflows.detail(workflow, version), message


async def follow_save(
    db: AsyncSession, principal: Principal, workflow_id: str
) -> WorkflowActivated | None:
    """After a new version of `workflow_id` was saved: if active, move its triggers to it."""
    workflow = await workflows.locked_workflow(db, principal, workflow_id)
    if not workflow.active:
        return None
    return await _turn_on(db, principal, workflow)


async def before_delete(
    db: AsyncSession, principal: Principal, workflow_id: str
) -> WorkflowDeactivated | None:
    """Before deleting `workflow_id`: an active workflow is deactivated first."""
    workflow = await workflows.locked_workflow(db, principal, workflow_id)
    if not workflow.active:
        return None
    return await _turn_off(db, workflow)
