"""Starting runs, optionally under an `Idempotency-Key`: the logic, without HTTP.

A key is stored with the first request's answer by one atomic insert that precedes the start
command, and claimed through the table's primary key, so concurrent identical requests
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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from portico_contracts.messages import StartExecution
from portico_gateway import repository as repo
from portico_gateway import workflow_service as workflows
from portico_gateway.errors import NotFoundError, PorticoError
from portico_gateway.graph_cache import GraphCache
from portico_gateway.models import IdempotencyKey
from portico_gateway.orchestrator_client import OrchestratorClient
from portico_gateway.principals import Caller
from portico_gateway.repository import HeldKey
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
    connection: AsyncConnection,
    principal: Principal,
    key: str,
    asked: str,
    execution_id: str,
    answer: BaseModel,
    ttl_s: int,
) -> HeldKey | None:
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
    held = await repo.claim_idempotency_key(connection, wanted, now - timedelta(seconds=ttl_s))
    if held is not None and held.fingerprint != asked:
        raise IdempotencyKeyReusedError(
            f"the {IDEMPOTENCY_HEADER} {key!r} was used for a different request (another "
            f"workflow, execution or body) in the last {_span(ttl_s)}; send a new key for a "
            "new request",
            details=[{"field": f"header.{IDEMPOTENCY_HEADER}", "message": "already used"}],
        )
    return held


async def _claim(
    connection: AsyncConnection,
    graphs: GraphCache,
    principal: Principal,
    key: str,
    command: StartExecution,
    request: RunRequest,
    ttl_s: int,
) -> tuple[StartExecution, RunAccepted]:
    """The command to send and the answer to give: this request's, or the key's first one.
    A repeat sends the first command again (same execution id, version and trigger);
    versions are immutable, so it is the same command."""
    answer = accepted(command)
    asked = fingerprint(command.workflow_id, request)
    held = await _claim_key(connection, principal, key, asked, command.execution_id, answer, ttl_s)
    if held is None:
        return command, answer
    first = RunAccepted.model_validate(held.response)
    graph = await graphs.graph(
        connection, principal.tenant_id, first.workflow_id, first.workflow_version
    )
    if graph is None:
        raise NotFoundError(f"workflow {first.workflow_id} version {first.workflow_version}")
    repeat = workflows.run_command(
        principal,
        first.workflow_id,
        first.workflow_version,
        graph,
        request,
        execution_id=first.execution_id,
        trigger_node_id=first.trigger_node_id,
    )
    return repeat, first


async def start_run(
    reads: AsyncEngine,
    graphs: GraphCache,
    orchestrator: OrchestratorClient,
    caller: Caller,
    workflow_id: str,
    request: RunRequest,
    idempotency_key: str | None,
    ttl_s: int,
) -> RunAccepted:
    """Start a run of `workflow_id`, whose latest version `caller` was looked up with.

    On an autocommit connection: the graph is read only on a cache miss, and the key (when
    given) is stored by one atomic insert, before the start command leaves.
    """
    principal, latest = caller.principal, caller.latest_version
    if latest is None:
        # Another tenant's workflow and a missing one look the same: 404, never 403.
        raise NotFoundError(f"workflow {workflow_id} not found")
    number = request.version or latest
    graph = graphs.get((principal.tenant_id, workflow_id, number))
    if graph is None:  # a connection only on a miss: a cached graph costs no checkout
        async with reads.connect() as connection:
            graph = await graphs.graph(connection, principal.tenant_id, workflow_id, number)
    if graph is None:
        raise NotFoundError(f"workflow {workflow_id} has no version {number} (latest is {latest})")
    command = workflows.run_command(principal, workflow_id, number, graph, request)
    answer = accepted(command)
    if idempotency_key is not None:
        async with reads.connect() as connection:
            command, answer = await _claim(
                connection, graphs, principal, idempotency_key, command, request, ttl_s
            )
    # The connection is back in the pool before waiting on the orchestrator.
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
        connection = await db.connection()
        held = await _claim_key(
            connection, principal, idempotency_key, asked, answer.execution_id, answer, ttl_s
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
