"""The test URL: `POST /api/workflows/{id}/webhook-test` listens for one request to
`/hooks/test/{path}`, which starts a `test` execution of the workflow's latest saved version
(active or not); `GET` shows what was caught.

Listeners are rows with an expiry, so any gateway replica can catch the request and any can
answer the GET.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portico_contracts.graph import WorkflowGraph
from portico_contracts.messages import StartExecution
from portico_contracts.triggers import WebhookTriggerConfig
from portico_gateway import repository as repo
from portico_gateway import webhook_repository as hooks_repo
from portico_gateway import workflow_service as workflows
from portico_gateway.activation import webhook_configs
from portico_gateway.errors import InvalidRequestError, NotFoundError
from portico_gateway.models import WebhookTestListener
from portico_gateway.schemas import WebhookTestStatus
from portico_gateway.service import Principal, utcnow
from portico_gateway.webhooks import Hook, VersionRef, hook_on, no_hook

TEST_PATH = "test/"


def _status(row: WebhookTestListener) -> WebhookTestStatus:
    return WebhookTestStatus(
        listening=row.request is None and row.expires_at > utcnow(),
        path=row.path,
        test_url=f"/hooks/{TEST_PATH}{row.path}",
        expires_at=row.expires_at,
        request=row.request,
        execution_id=row.execution_id,
    )


def _first_hook(graph: WorkflowGraph, number: int) -> tuple[str, WebhookTriggerConfig]:
    configs = webhook_configs(graph)
    if not configs:
        raise InvalidRequestError(
            f"version {number} has no trigger.webhook node; add one to listen for a test request"
        )
    return next(iter(configs.items()))


async def start_listening(
    db: AsyncSession, principal: Principal, workflow_id: str, listen_s: int
) -> WebhookTestStatus:
    """Listen on the path of the latest version's (first) webhook node for `listen_s`."""
    workflow = await workflows.locked_workflow(db, principal, workflow_id)
    version, graph = await workflows.latest_version(db, principal, workflow)
    _, config = _first_hook(graph, version.version)
    expires_at = utcnow() + timedelta(seconds=listen_s)
    await hooks_repo.listen(db, principal.tenant_id, workflow.id, config.path, expires_at)
    return await listening(db, principal, workflow_id)


async def listening(db: AsyncSession, principal: Principal, workflow_id: str) -> WebhookTestStatus:
    await workflows.require_workflow(db, principal, workflow_id)
    row = await hooks_repo.listener(db, principal.tenant_id, workflow_id)
    if row is None:
        raise NotFoundError(
            f"nobody listens for a test request to workflow {workflow_id}; "
            f"POST /api/workflows/{workflow_id}/webhook-test first"
        )
    await db.refresh(row)
    return _status(row)


async def test_hook(db: AsyncSession, path: str) -> tuple[WebhookTestListener, Hook]:
    """The listener waiting on `path` (locked until commit) and the webhook node of the
    workflow's latest version on that path; 404 when nobody listens."""
    row = await hooks_repo.waiting_listener(db, path, utcnow())
    if row is None:
        raise no_hook(TEST_PATH + path)
    workflow = await repo.get_workflow(db, row.tenant_id, row.workflow_id)
    version = None
    if workflow is not None:
        version = await repo.get_version(db, row.tenant_id, workflow.id, workflow.latest_version)
    # None too when a save since listening began moved the path.
    hook = None
    if version is not None:
        ref = VersionRef(version.tenant_id, version.workflow_id, version.version)
        hook = hook_on(ref, WorkflowGraph.model_validate(version.graph), path)
    if hook is None:
        raise no_hook(TEST_PATH + path)
    return row, hook


async def capture(
    db: AsyncSession, row: WebhookTestListener, hook: Hook, output: dict[str, Any]
) -> StartExecution:
    """Record the request caught (listening ends) and the command of its test execution."""
    command = hook.start_command(output, test=True)
    await hooks_repo.capture(db, row.workflow_id, output, command.execution_id)
    return command
