"""`POST /api/ai/generate-config`: a node config written by a model from plain English.

The model runs on the caller's own credential, so the request is rate limited per account.
The orchestrator signs a short-lived grant to read that credential for this one request; an
executor running `ai` resolves it, asks the model (showing it the node's config schema and,
on a retry, what failed to validate) and answers with a config that validates. Nothing is
saved: the editor shows the config for the person to review.
"""

from __future__ import annotations

from fastapi import APIRouter

from portico_contracts.ai import GenerateConfig, GeneratedConfig
from portico_gateway.dependencies import DB, CurrentPrincipal, State
from portico_gateway.rate_limits import Rule
from portico_gateway.schemas import GenerateConfigRequest

router = APIRouter(prefix="/api/ai", tags=["ai"])


@router.post(
    "/generate-config",
    responses={
        404: {"description": "no such credential in this account"},
        429: {"description": "too many generated configs for this account; see Retry-After"},
        502: {"description": "the model or an internal service answered with an error"},
        503: {"description": "no executor runs ai, or a service is unreachable; see Retry-After"},
    },
)
async def generate_config(
    body: GenerateConfigRequest, db: DB, principal: CurrentPrincipal, state: State
) -> GeneratedConfig:
    """Write a config for a `node_type` node that does what `description` says, with the
    model of `provider` on the caller's credential. The config validates against the node
    type's schema; `tries` says how many attempts that took, `usage` what they cost."""
    await state.rate_limits.hit(Rule.AI_GENERATE, principal.tenant_id)
    await db.commit()  # release the connection: a model may take its time
    issued = await state.orchestrator.issue_grant(
        principal.tenant_id, body.credential_id, requested_by=principal.user_id
    )
    request = GenerateConfig(
        tenant_id=principal.tenant_id,
        node_type=body.node_type,
        description=body.description,
        provider=body.provider,
        model=body.model,
        credential_id=body.credential_id,
        execution_id=issued.execution_id,
        node_id=issued.node_id,
        grant=issued.grant,
    )
    return await state.ai.generate_config(request)
