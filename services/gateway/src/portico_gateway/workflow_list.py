"""The editor's workflow list: each workflow with its most recent execution.

Executions live in the orchestrator's schema, so the gateway asks for the newest one of every
workflow on the page in one RPC. That column decorates the list; it does not gate it: when
the orchestrator does not answer, the list is served with `last_execution` null throughout.
"""

from __future__ import annotations

import logging

from portico_gateway.errors import PorticoError
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.schemas import LastExecution, WorkflowFields, WorkflowList, WorkflowSummary

logger = logging.getLogger("portico.gateway.workflows")


async def last_executions(
    orchestrator: OrchestratorClient, tenant_id: str, workflow_ids: list[str]
) -> dict[str, LastExecution]:
    """Workflow id → its newest execution; empty when the orchestrator cannot say."""
    if not workflow_ids:
        return {}
    try:
        found = await orchestrator.latest_executions(tenant_id, workflow_ids)
    except PorticoError as exc:
        logger.warning("workflow list served without last executions: %s", exc.message)
        return {}
    return {
        view.workflow_id: LastExecution.model_validate(view.model_dump(exclude={"workflow_id"}))
        for view in found
    }


async def with_last_executions(
    orchestrator: OrchestratorClient, tenant_id: str, workflows: list[WorkflowFields], total: int
) -> WorkflowList:
    latest = await last_executions(orchestrator, tenant_id, [w.id for w in workflows])
    items = [
        WorkflowSummary(**workflow.model_dump(), last_execution=latest.get(workflow.id))
        for workflow in workflows
    ]
    return WorkflowList(items=items, total=total)
