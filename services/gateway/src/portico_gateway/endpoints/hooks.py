"""Public webhook URLs: `/hooks/{path}` for active workflows, `/hooks/test/{path}` while
someone listens for a test request. No login: the path is the address, and a node may ask for
a token or a signature (webhook_auth.py), checked before anything starts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from portico_gateway import webhook_tests, webhook_wait, webhooks
from portico_gateway.dependencies import DB, State
from portico_gateway.rate_limits import Rule
from portico_gateway.schemas import WebhookAccepted

router = APIRouter(prefix="/hooks", tags=["webhooks"])

HOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
HookPath = Annotated[str, Path(max_length=200)]
ANSWERS: dict[int | str, dict[str, str]] = {
    202: {"description": "started; `respond: wait` past its timeout answers this too"},
    404: {"description": "no active webhook (or no test listener) on this path"},
    405: {"description": "the webhook node does not accept this method"},
    401: {"description": "the node's token or signature check failed; nothing started"},
    413: {"description": "body over PORTICO_WEBHOOK_MAX_BODY_BYTES"},
    429: {"description": "too many webhook requests for the workflow's owner; see Retry-After"},
    502: {"description": "`respond: wait`: the execution failed"},
}


def _accepted(execution_id: str) -> Response:
    return JSONResponse(WebhookAccepted(execution_id=execution_id).model_dump(), 202)


async def test_webhook(path: HookPath, request: Request, db: DB, state: State) -> Response:
    """Caught once by the workflow listening on this path: starts a `test` execution of its
    latest saved version and answers 202 with the execution id."""
    row, hook = await webhook_tests.test_hook(db, path)
    webhooks.check_method(hook.config, request.method)
    await state.rate_limits.hit(Rule.WEBHOOK, row.tenant_id)
    await db.commit()  # no lock nor connection held while a slow client uploads
    raw = await webhooks.read_body(request, state.settings.webhook_max_body_bytes)
    row, hook = await webhook_tests.test_hook(db, path)  # still waiting, now locked
    await db.commit()  # the check asks the credentials service: hold no lock meanwhile
    await webhooks.authenticate(hook, request, raw, state.credentials)
    row, hook = await webhook_tests.test_hook(db, path)
    output = webhooks.trigger_output(request, path, raw, hook.config.preset)
    command = await webhook_tests.capture(db, row, hook, output)
    await db.commit()
    await state.orchestrator.start_execution(command)
    return _accepted(command.execution_id)


async def live_webhook(path: HookPath, request: Request, state: State) -> Response:
    """Start an execution of the active workflow owning this path. `respond: ack` answers
    202 at once; `respond: wait` answers with a node's output once the execution ends."""
    hook = await webhooks.live_hook(state.reads, state.graphs, path)
    webhooks.check_method(hook.config, request.method)
    await state.rate_limits.hit(Rule.WEBHOOK, hook.version.tenant_id)
    raw = await webhooks.read_body(request, state.settings.webhook_max_body_bytes)
    await webhooks.authenticate(hook, request, raw, state.credentials)
    output = webhooks.trigger_output(request, path, raw, hook.config.preset)
    command = hook.start_command(output, test=False)
    if hook.config.respond == "ack":
        await state.orchestrator.start_execution(command)
        return _accepted(command.execution_id)
    detail = await webhook_wait.run_and_wait(
        state.hub,
        state.orchestrator,
        command,
        hook.config.wait_timeout_s,
        state.settings.webhook_wait_poll_s,
    )
    if detail is None:
        return _accepted(command.execution_id)
    return webhook_wait.response_for(detail, hook.config)


# One route per method, so each has its own OpenAPI operation id. The test URL is declared
# first: the live route would otherwise take `test/...` as its path.
for _method in HOOK_METHODS:
    for _path, _endpoint in (("/test/{path:path}", test_webhook), ("/{path:path}", live_webhook)):
        router.add_api_route(
            _path,
            _endpoint,
            methods=[_method],
            responses=ANSWERS,
            operation_id=f"{_endpoint.__name__}_{_method.lower()}",
        )
