"""Starting runs, optionally under an `Idempotency-Key`: the logic, without HTTP.

A key is stored with the first request's answer in the same transaction that precedes the
start command, and claimed through the table's primary key, so concurrent identical requests
get one execution. A repeat sends the start command again with the original execution id:
the orchestrator creates an execution once per id, so this starts nothing new, yet it heals
the one gap (a gateway that died between storing the key and queueing the command).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portico_contracts.messages import StartExecution
from portico_gateway import repository as repo
from portico_gateway import workflow_service as workflows
from portico_gateway.errors import PorticoError
from portico_gateway.models import IdempotencyKey
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.schemas import RetryAccepted, RunAccepted, RunRequest
from portico_gateway.service import Principal, utcnow

logger = logging.getLogger("portico.gateway.runs")

IDEMPOTENCY_HEADER = "Idempotency-Key"
CLEANUP_BATCH = 1000


class IdempotencyKeyReusedError(PorticoError):
    code, status = "idempotency_key_reused", 422


def _span(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds} s"


def fingerprint(workflow_id: str, request: RunRequest) -> str:
    """What the request asks for, normalized: `{}` and `{"payload": {}}` are the same run."""
    asked = {"workflow_id": workflow_id, "body": request.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def accepted(command: StartExecution) -> RunAccepted:
    return RunAccepted(
        execution_id=command.execution_id,
        workflow_id=command.workflow_id,
        workflow_version=command.workflow_version,
        trigger_node_id=command.trigger_node_id,
    )


async def _claim_key(
    db: AsyncSession,
    principal: Principal,
    key: str,
    asked: str,
    execution_id: str,
    answer: BaseModel,
    ttl_s: int,
) -> IdempotencyKey | None:
    """Store `key` for this request (`asked` is its fingerprint) with its answer; None when
    it is new, else the first request's record, which must have asked the same."""
    now = utcnow()
    wanted = IdempotencyKey(
        tenant_id=principal.tenant_id,
        key=key,
        fingerprint=asked,
        execution_id=execution_id,
        response=answer.model_dump(mode="json"),
        created_at=now,
    )
    held = await repo.claim_idempotency_key(db, wanted, now - timedelta(seconds=ttl_s))
    if held is wanted:
        return None
    if held.fingerprint != wanted.fingerprint:
        raise IdempotencyKeyReusedError(
            f"the {IDEMPOTENCY_HEADER} {key!r} was used for a different request (another "
            f"workflow, execution or body) in the last {_span(ttl_s)}; send a new key for a "
            "new request",
            details=[{"field": f"header.{IDEMPOTENCY_HEADER}", "message": "already used"}],
        )
    return held


async def _claim(
    db: AsyncSession,
    principal: Principal,
    key: str,
    command: StartExecution,
    request: RunRequest,
    ttl_s: int,
) -> tuple[StartExecution, RunAccepted]:
    """The command to send and the answer to give: this request's, or the key's first one."""
    answer = accepted(command)
    asked = fingerprint(command.workflow_id, request)
    held = await _claim_key(db, principal, key, asked, command.execution_id, answer, ttl_s)
    if held is None:
        return command, answer
    first = RunAccepted.model_validate(held.response)
    repeat = await workflows.prepare_repeat(db, principal, first, request)
    return repeat, first


async def start_run(
    db: AsyncSession,
    orchestrator: OrchestratorClient,
    principal: Principal,
    workflow_id: str,
    request: RunRequest,
    idempotency_key: str | None,
    ttl_s: int,
) -> RunAccepted:
    command = await workflows.prepare_run(db, principal, workflow_id, request)
    answer = accepted(command)
    if idempotency_key is not None:
        command, answer = await _claim(db, principal, idempotency_key, command, request, ttl_s)
    # End the transaction before waiting on the orchestrator: no pooled connection sits
    # idle in a transaction for the length of an RPC, and the key is stored first.
    await db.commit()
    await orchestrator.start_execution(command)
    return answer


async def start_retry(
    db: AsyncSession,
    orchestrator: OrchestratorClient,
    principal: Principal,
    execution_id: str,
    idempotency_key: str | None,
    ttl_s: int,
) -> RetryAccepted:
    """Ask for a retry of `execution_id`. Under a key already used for it, the same retry is
    asked for again (same new execution id), which the orchestrator starts only once."""
    answer = RetryAccepted(execution_id=str(uuid.uuid4()), retry_of=execution_id)
    if idempotency_key is not None:
        asked = hashlib.sha256(json.dumps({"retry_of": execution_id}).encode()).hexdigest()
        held = await _claim_key(
            db, principal, idempotency_key, asked, answer.execution_id, answer, ttl_s
        )
        if held is not None:
            answer = RetryAccepted.model_validate(held.response)
    await db.commit()  # the key is stored before the orchestrator is asked
    await orchestrator.retry_execution(principal.tenant_id, execution_id, answer.execution_id)
    return answer


async def expire_idempotency_keys(
    sessions: async_sessionmaker[AsyncSession], ttl_s: int, interval_s: float
) -> None:
    """Forever: every `interval_s`, delete the keys older than `ttl_s`."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with sessions() as db:
                cutoff = utcnow() - timedelta(seconds=ttl_s)
                while await repo.delete_expired_idempotency_keys(db, cutoff, CLEANUP_BATCH):
                    await db.commit()
                await db.commit()
        except Exception as exc:  # a database outage: try again next round
            logger.warning("could not delete expired idempotency keys: %r", exc)
