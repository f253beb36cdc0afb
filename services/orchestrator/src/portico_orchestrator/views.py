"""The read side of the RPC surface: executions, their node runs, and event replay.

Every query is filtered by the caller's tenant, so another tenant's execution is not found.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from portico_contracts.ai import TokenUsage
from portico_contracts.messages import TERMINAL_EXECUTION_STATUSES, StatusEvent
from portico_contracts.queries import (
    AttemptStatus,
    DeadLetterPage,
    DeadLetterView,
    EventsPage,
    EventsSince,
    ExecutionDetail,
    ExecutionPage,
    ExecutionSummary,
    GetExecution,
    LatestExecutions,
    LatestExecutionsPage,
    LatestExecutionView,
    ListDeadLetters,
    ListExecutions,
    NodeRunView,
)
from portico_orchestrator.models import dead_letters, events, executions, node_runs


class InvalidRequestError(ValueError):
    """The request is well-formed but cannot be answered (say, a cursor that is not ours)."""


_MAX_SEQ = 2**31 - 1  # events.seq is an int4 column


_SUMMARY_COLUMNS = (
    executions.c.id,
    executions.c.workflow_id,
    executions.c.workflow_version,
    executions.c.status,
    executions.c.mode,
    executions.c.trigger_node_id,
    executions.c.created_at,
    executions.c.started_at,
    executions.c.finished_at,
    executions.c.error,
    executions.c.last_seq,
    executions.c.retry_of,
    executions.c.input_tokens,
    executions.c.output_tokens,
    executions.c.total_tokens,
    executions.c.cost_usd,
)
_RUN_COLUMNS = (
    node_runs.c.node_id,
    node_runs.c.node_type,
    node_runs.c.status,
    node_runs.c.attempt,
    node_runs.c.input,
    node_runs.c.output,
    node_runs.c.error,
    node_runs.c.started_at,
    node_runs.c.finished_at,
)


def encode_cursor(created_at: datetime, execution_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), execution_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, execution_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None or not isinstance(execution_id, str):
            raise ValueError("malformed cursor")
        return moment, execution_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequestError("cursor is not a next_cursor this service returned") from exc


async def get_execution(conn: AsyncConnection, query: GetExecution) -> ExecutionDetail | None:
    found = (
        (
            await conn.execute(
                sa.select(*_SUMMARY_COLUMNS, executions.c.payload).where(
                    executions.c.id == query.execution_id,
                    executions.c.tenant_id == query.tenant_id,
                )
            )
        )
        .mappings()
        .first()
    )
    if found is None:
        return None
    runs = await conn.execute(
        sa.select(*_RUN_COLUMNS)
        .where(node_runs.c.execution_id == query.execution_id)
        .order_by(node_runs.c.ordinal)
    )
    return ExecutionDetail.model_validate(
        {
            **_summary_fields(found),
            "payload": found["payload"],
            "node_runs": [NodeRunView.model_validate(dict(r)) for r in runs.mappings()],
        }
    )


def _summary_fields(row: sa.RowMapping) -> dict[str, Any]:
    fields = dict(row)
    fields["usage"] = TokenUsage(
        input_tokens=fields.pop("input_tokens"),
        output_tokens=fields.pop("output_tokens"),
        total_tokens=fields.pop("total_tokens"),
    )
    fields["cost_usd"] = float(fields.pop("cost_usd"))
    return fields


async def list_executions(conn: AsyncConnection, query: ListExecutions) -> ExecutionPage:
    """Newest first; the cursor is the (created_at, id) of the last item, for keyset paging."""
    statement = sa.select(*_SUMMARY_COLUMNS).where(executions.c.tenant_id == query.tenant_id)
    if query.workflow_id is not None:
        statement = statement.where(executions.c.workflow_id == query.workflow_id)
    if query.status is not None:
        statement = statement.where(executions.c.status == query.status)
    if query.cursor:
        created_at, execution_id = decode_cursor(query.cursor)
        statement = statement.where(
            sa.tuple_(executions.c.created_at, executions.c.id) < (created_at, execution_id)
        )
    statement = statement.order_by(executions.c.created_at.desc(), executions.c.id.desc()).limit(
        query.limit + 1
    )
    rows = (await conn.execute(statement)).mappings().all()
    items = [ExecutionSummary.model_validate(_summary_fields(r)) for r in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = items[-1]
        next_cursor = encode_cursor(last.created_at, last.id)
    return ExecutionPage(items=items, next_cursor=next_cursor)


def latest_executions_statement(query: LatestExecutions) -> sa.Select[Any]:
    """The newest execution of each workflow in one statement: for every id, a LATERAL
    subquery reads one row backwards off `ix_executions_tenant_workflow` (tenant, workflow,
    created_at, id), so the cost is one short index probe per workflow however many
    executions each has."""
    wanted = (
        sa.func.unnest(sa.literal(sorted(set(query.workflow_ids)), ARRAY(sa.Text)))
        .table_valued("workflow_id")
        .render_derived(name="wanted")
    )
    newest = (
        sa.select(
            executions.c.id,
            executions.c.status,
            executions.c.created_at,
            executions.c.started_at,
            executions.c.finished_at,
        )
        .where(
            executions.c.tenant_id == query.tenant_id,
            executions.c.workflow_id == wanted.c.workflow_id,
        )
        .order_by(executions.c.created_at.desc(), executions.c.id.desc())
        .limit(1)
        .lateral("newest")
    )
    return sa.select(wanted.c.workflow_id, *newest.c).select_from(wanted.join(newest, sa.true()))


async def latest_executions(conn: AsyncConnection, query: LatestExecutions) -> LatestExecutionsPage:
    rows = (await conn.execute(latest_executions_statement(query))).mappings().all()
    return LatestExecutionsPage(items=[LatestExecutionView.model_validate(dict(r)) for r in rows])


async def events_since(conn: AsyncConnection, query: EventsSince) -> EventsPage | None:
    last_seq = (
        await conn.execute(
            sa.select(executions.c.last_seq).where(
                executions.c.id == query.execution_id,
                executions.c.tenant_id == query.tenant_id,
            )
        )
    ).scalar()
    if last_seq is None:
        return None
    # A resume point beyond any int4 is past every event (and asyncpg would refuse it).
    after_seq = min(query.after_seq, _MAX_SEQ)
    bodies = await conn.execute(
        sa.select(events.c.body)
        .where(events.c.execution_id == query.execution_id, events.c.seq > after_seq)
        .order_by(events.c.seq)
        .limit(query.limit)
    )
    return EventsPage(
        events=[StatusEvent.model_validate(body) for body in bodies.scalars()],
        last_seq=last_seq,
    )


async def attempt_awaiting(conn: AsyncConnection, query: AttemptStatus) -> bool:
    """Does this node's attempt still await its result (so a redelivered node.ready of it
    should run), or is it answered, superseded, or its execution over?"""
    found = (
        await conn.execute(
            sa.select(executions.c.status, executions.c.node_state[query.node_id]).where(
                executions.c.id == query.execution_id,
                executions.c.tenant_id == query.tenant_id,
            )
        )
    ).first()
    if found is None:
        return False
    status, state = found
    if status in TERMINAL_EXECUTION_STATUSES or not isinstance(state, dict):
        return False
    return state.get("s") == "running" and state.get("a") == query.attempt and not state.get("w")


async def list_dead_letters(conn: AsyncConnection, query: ListDeadLetters) -> DeadLetterPage:
    """Newest first; the cursor is the id of the last item."""
    statement = sa.select(
        dead_letters.c.id,
        dead_letters.c.at,
        dead_letters.c.queue,
        dead_letters.c.exchange,
        dead_letters.c.routing_key,
        dead_letters.c.message_id,
        dead_letters.c.reason,
        dead_letters.c.execution_id,
        dead_letters.c.node_id,
    ).where(dead_letters.c.tenant_id == query.tenant_id)
    if query.execution_id is not None:
        statement = statement.where(dead_letters.c.execution_id == query.execution_id)
    if query.cursor:
        statement = statement.where(dead_letters.c.id < _dead_letter_cursor(query.cursor))
    statement = statement.order_by(dead_letters.c.id.desc()).limit(query.limit + 1)
    rows = (await conn.execute(statement)).mappings().all()
    items = [DeadLetterView.model_validate(dict(r)) for r in rows[: query.limit]]
    next_cursor = str(items[-1].id) if len(rows) > query.limit else None
    return DeadLetterPage(items=items, next_cursor=next_cursor)


def _dead_letter_cursor(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidRequestError("cursor is not a next_cursor this service returned")
    return int(cursor)
