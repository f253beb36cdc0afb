"""Persistence of execution state: the hot path's few statements, and nothing that commits.

Every function takes the caller's asyncpg connection; the transaction belongs to the handler.
A node result costs one statement whatever it changes when this replica made the row's last
save (write everything, if the row's version is still the one it saved), else three: lock the
row, (rarely) read outputs this replica has not cached, write everything. Bulk changes travel
as one JSON array or a few Postgres arrays and are spread out by `unnest`, so touching forty
nodes is one round trip too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from portico_contracts.ai import TokenUsage
from portico_contracts.messages import TERMINAL_EXECUTION_STATUSES, NodeError, StartExecution
from portico_orchestrator.db import Connection, Query
from portico_orchestrator.dead_letters import DeadLetter
from portico_orchestrator.step import (
    Effects,
    ExecutionRow,
    OutboxMessage,
    Step,
    decode_states,
    dumps,
    encode_states,
)
from portico_orchestrator.usage import Spent

_ROW_COLUMNS = (
    "id, tenant_id, workflow_id, workflow_version, mode, trigger_node_id, status, node_state, "
    "last_seq, version, error, created_at, started_at, finished_at, retry_of, "
    "input_tokens, output_tokens, total_tokens, cost_usd"
)
_LOCK = Query(f"SELECT {_ROW_COLUMNS} FROM orchestrator.executions WHERE id = :id FOR UPDATE")
_LOCK_WITH_GRAPH = Query(
    f"SELECT {_ROW_COLUMNS}, graph FROM orchestrator.executions WHERE id = :id FOR UPDATE"
)

# Each piece of a step travels as arrays; the statements below unnest them.
_EVENTS_FROM = """
    FROM unnest(CAST(:ev_seqs AS int[]), CAST(:ev_types AS text[]), CAST(:ev_nodes AS text[]),
                CAST(:ev_ats AS timestamptz[]), CAST(:ev_bodies AS text[]))
         AS e(seq, type, node_id, at, body)
"""
_OUTBOX_FROM = """
    FROM unnest(CAST(:ob_exchanges AS text[]), CAST(:ob_keys AS text[]),
                CAST(:ob_ids AS text[]), CAST(:ob_bodies AS text[]), CAST(:ob_headers AS text[]))
         AS o(exchange, routing_key, message_id, body, headers)
"""

# A new execution in one statement; on a duplicate id nothing is written and no row returns.
_START = Query(
    f"""
    WITH ins AS (
        INSERT INTO orchestrator.executions
            (id, tenant_id, workflow_id, workflow_version, mode, trigger_node_id, status, graph,
             payload, node_state, last_seq, error, created_at, started_at, finished_at,
             retry_of, max_concurrency)
        VALUES (:id, :tenant_id, :workflow_id, :workflow_version, :mode, :trigger_node_id,
                :status, CAST(:graph AS jsonb), CAST(:payload AS jsonb),
                CAST(:node_state AS jsonb), :last_seq, CAST(:error AS jsonb), :created_at,
                :started_at, :finished_at, :retry_of, :max_concurrency)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), runs AS (
        INSERT INTO orchestrator.node_runs
            (execution_id, node_id, ordinal, node_type, status, attempt, input, output, error,
             started_at, finished_at)
        SELECT ins.id, j->>'node_id', (j->>'ordinal')::int, j->>'node_type', j->>'status',
               (j->>'attempt')::int, j->'input', j->'output', j->'error',
               (j->>'started_at')::timestamptz, (j->>'finished_at')::timestamptz
        FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS j, ins
    ), ev AS (
        INSERT INTO orchestrator.events (execution_id, seq, type, node_id, at, body)
        SELECT ins.id, e.seq, e.type, e.node_id, e.at, CAST(e.body AS jsonb) {_EVENTS_FROM}, ins
    )
    INSERT INTO orchestrator.outbox (exchange, routing_key, message_id, body, headers, owner)
    SELECT o.exchange, o.routing_key, o.message_id, o.body, CAST(o.headers AS jsonb), :owner
    {_OUTBOX_FROM}, ins
    RETURNING id, message_id
    """
)

# When a step finishes its execution: whether any execution of the tenant waits its turn, so
# the place coming free is offered only when one does (no statement of its own after commit).
# The snapshot is this statement's: one queued a moment later waits for the watchdog's sweep,
# as one queued just after a separate check would.
_TENANT_QUEUED = """
    CASE WHEN CAST(:finishing AS boolean) THEN EXISTS (
        SELECT 1 FROM orchestrator.executions WHERE tenant_id = :tenant_id AND status = 'queued'
    ) END
"""

# Everything a step changes, in one statement (one round trip): the execution row, then —
# only if that row was written — node runs (a key present in a row's JSON sets that column,
# even to null; an absent key keeps it), events, timers and the outbox rows that publish it
# all. With an :expected_version the row is written only while it is still at that version
# (a save made without the row lock); without one (under the lock) it always is. One row
# comes back whatever was written: `saved`, and each outbox row's id, if any.
_SAVE_STEP = Query(
    f"""
    WITH ex AS (
        UPDATE orchestrator.executions
        SET status = :status, node_state = CAST(:node_state AS jsonb), last_seq = :last_seq,
            error = CAST(:error AS jsonb), finished_at = :finished_at, started_at = :started_at,
            version = version + 1
        WHERE id = :id
          AND (CAST(:expected_version AS bigint) IS NULL OR version = :expected_version)
        RETURNING id
    ), runs AS (
        UPDATE orchestrator.node_runs AS n SET
            status = u.j->>'status',
            attempt = (u.j->>'attempt')::int,
            input = CASE WHEN u.j ? 'input' THEN u.j->'input' ELSE n.input END,
            output = CASE WHEN u.j ? 'output' THEN u.j->'output' ELSE n.output END,
            error = CASE WHEN u.j ? 'error' THEN u.j->'error' ELSE n.error END,
            started_at = CASE WHEN u.j ? 'started_at'
                              THEN (u.j->>'started_at')::timestamptz ELSE n.started_at END,
            finished_at = CASE WHEN u.j ? 'finished_at'
                               THEN (u.j->>'finished_at')::timestamptz ELSE n.finished_at END
        FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS u(j), ex
        WHERE n.execution_id = ex.id AND n.node_id = u.j->>'node_id'
    ), ev AS (
        INSERT INTO orchestrator.events (execution_id, seq, type, node_id, at, body)
        SELECT ex.id, e.seq, e.type, e.node_id, e.at, CAST(e.body AS jsonb) {_EVENTS_FROM}, ex
    ), tm AS (
        INSERT INTO orchestrator.timers
            (execution_id, node_id, kind, attempt, due_at, dispatched_at)
        SELECT ex.id, t.* FROM unnest(CAST(:tm_nodes AS text[]), CAST(:tm_kinds AS text[]),
                                      CAST(:tm_attempts AS int[]),
                                      CAST(:tm_due AS timestamptz[]),
                                      CAST(:tm_dispatched AS timestamptz[]))
             AS t(node_id, kind, attempt, due_at, dispatched_at), ex
        ON CONFLICT (execution_id, node_id) DO NOTHING
    ), ob AS (
        INSERT INTO orchestrator.outbox (exchange, routing_key, message_id, body, headers, owner)
        SELECT o.exchange, o.routing_key, o.message_id, o.body, CAST(o.headers AS jsonb), :owner
        {_OUTBOX_FROM}, ex
        RETURNING id, message_id
    )
    SELECT EXISTS (SELECT 1 FROM ex) AS saved, ob.id, ob.message_id,
           {_TENANT_QUEUED} AS tenant_queued
    FROM (SELECT 1) AS one LEFT JOIN ob ON true
    """
)

_ADD_SPENT = Query(
    """
    UPDATE orchestrator.executions
    SET input_tokens = input_tokens + :input_tokens, output_tokens = output_tokens + :output_tokens,
        total_tokens = total_tokens + :total_tokens, cost_usd = cost_usd + :cost_usd
    WHERE id = :id
    """
)

_LOAD_OUTPUTS = Query(
    """
    SELECT node_id, output, error FROM orchestrator.node_runs
    WHERE execution_id = :id AND node_id = ANY(CAST(:node_ids AS text[]))
    """
)


def _row(mapping: Any) -> ExecutionRow:
    error = mapping["error"]
    return ExecutionRow(
        id=mapping["id"],
        tenant_id=mapping["tenant_id"],
        workflow_id=mapping["workflow_id"],
        workflow_version=mapping["workflow_version"],
        mode=mapping["mode"],
        trigger_node_id=mapping["trigger_node_id"],
        status=mapping["status"],
        states=decode_states(mapping["node_state"]),
        last_seq=mapping["last_seq"],
        version=mapping["version"],
        created_at=mapping["created_at"],
        started_at=mapping["started_at"],
        finished_at=mapping["finished_at"],
        error=NodeError.model_validate(error) if error else None,
        retry_of=mapping["retry_of"],
        spent=Spent(
            TokenUsage(
                input_tokens=mapping["input_tokens"],
                output_tokens=mapping["output_tokens"],
                total_tokens=mapping["total_tokens"],
            ),
            float(mapping["cost_usd"]),
        ),
    )


async def add_spent(conn: Connection, execution_id: str, spent: Spent) -> None:
    await _ADD_SPENT.execute(
        conn,
        id=execution_id,
        input_tokens=spent.usage.input_tokens,
        output_tokens=spent.usage.output_tokens,
        total_tokens=spent.usage.total_tokens,
        cost_usd=Decimal(str(spent.cost_usd)),
    )


async def lock_execution(
    conn: Connection, execution_id: str, *, with_graph: bool
) -> tuple[ExecutionRow, Any] | None:
    """Lock the execution row (results of one execution serialize here) and read its state."""
    found = await (_LOCK_WITH_GRAPH if with_graph else _LOCK).fetchrow(conn, id=execution_id)
    if found is None:
        return None
    return _row(found), (found["graph"] if with_graph else None)


async def insert_execution(
    conn: Connection,
    command: StartExecution,
    step: Step,
    graph_json: str,
    node_rows: Sequence[dict[str, Any]],
) -> Effects | None:
    """Write a new execution in its post-start state; None when the id already existed."""
    row = step.row
    outbox = step.outbox()
    result = await _START.fetch(
        conn,
        **{
            "tenant_id": row.tenant_id,
            "workflow_id": row.workflow_id,
            "workflow_version": row.workflow_version,
            "mode": row.mode,
            "trigger_node_id": row.trigger_node_id,
            "graph": graph_json,
            "payload": dumps(command.payload),
            "created_at": row.created_at,
            "rows": dumps(list(node_rows)),
            "retry_of": row.retry_of,
            "max_concurrency": row.max_concurrency,
            **_row_params(step),
            **_event_params(step),
            **_outbox_params(step, outbox),
        },
    )
    effects = _effects(step, result, outbox)
    return effects if effects.messages else None


async def load_outputs(
    conn: Connection, execution_id: str, node_ids: Iterable[str]
) -> dict[str, tuple[Any, Any]]:
    """(output, error) of the given nodes: what the templates of nodes being dispatched read."""
    ids = list(node_ids)
    if not ids:
        return {}
    rows = await _LOAD_OUTPUTS.fetch(conn, id=execution_id, node_ids=ids)
    return {r["node_id"]: (r["output"], r["error"]) for r in rows}


async def save_step(
    conn: Connection, step: Step, expected_version: int | None = None
) -> Effects | None:
    """Write a step of an existing execution, all of it in one statement; None (nothing
    written) when `expected_version` is given and the row is no longer at it."""
    timers = step.timers
    outbox = step.outbox()
    result = await _SAVE_STEP.fetch(
        conn,
        **{
            "rows": step.node_rows_json(),
            "tm_nodes": [t.node_id for t in timers],
            "tm_kinds": [t.kind for t in timers],
            "tm_attempts": [t.attempt for t in timers],
            "tm_due": [t.due_at for t in timers],
            "tm_dispatched": [t.dispatched_at for t in timers],
            "tenant_id": step.row.tenant_id,
            "finishing": step.row.status in TERMINAL_EXECUTION_STATUSES,
            "expected_version": expected_version,
            **_row_params(step),
            **_event_params(step),
            **_outbox_params(step, outbox),
        },
    )
    if not result[0]["saved"]:
        return None
    step.row.version += 1
    return _effects(step, [r for r in result if r["id"] is not None], outbox)


def _row_params(step: Step) -> dict[str, Any]:
    row = step.row
    return {
        "id": row.id,
        "status": row.status,
        "node_state": encode_states(row.states),
        "last_seq": row.last_seq,
        "error": row.error.model_dump_json() if row.error else None,
        "finished_at": row.finished_at,
        "started_at": row.started_at,
    }


def _event_params(step: Step) -> dict[str, Any]:
    events = [event for event, _ in step.events]
    return {
        "ev_seqs": [e.seq for e in events],
        "ev_types": [e.type for e in events],
        "ev_nodes": [e.node_id for e in events],
        "ev_ats": [e.at for e in events],
        "ev_bodies": [body for _, body in step.events],
    }


def _outbox_params(step: Step, outbox: list[OutboxMessage]) -> dict[str, Any]:
    return {
        "owner": step.owner,
        "ob_exchanges": [m.exchange for m in outbox],
        "ob_keys": [m.routing_key for m in outbox],
        "ob_ids": [m.message_id for m in outbox],
        "ob_bodies": [m.body for m in outbox],
        "ob_headers": [dumps(m.headers) if m.headers else None for m in outbox],
    }


def _effects(step: Step, result: list[Any], outbox: list[OutboxMessage]) -> Effects:
    by_message_id: dict[str, OutboxMessage] = {m.message_id: m for m in outbox}
    sent = sorted((r["id"], by_message_id[r["message_id"]]) for r in result)
    return Effects(
        messages=sent,
        timer_due=[timer.due_at for timer in step.timers],
        execution_id=step.row.id,
        tenant_id=step.row.tenant_id,
        finished=step.row.status in TERMINAL_EXECUTION_STATUSES,
        tenant_queued=result[0].get("tenant_queued") if result else None,
        outputs=step.learned,
        outputs_size=step.learned_size,
        row=step.row,
    )


_RECORD_DEAD_LETTER = Query(
    """
    INSERT INTO orchestrator.dead_letters
        (tenant_id, execution_id, node_id, queue, exchange, routing_key, message_id, reason,
         body_excerpt, headers)
    VALUES (:tenant_id, :execution_id, :node_id, :queue, :exchange, :routing_key, :message_id,
            :reason, :body_excerpt, CAST(:headers AS jsonb))
    """
)


async def record_dead_letter(conn: Connection, letter: DeadLetter) -> None:
    await _RECORD_DEAD_LETTER.execute(
        conn,
        tenant_id=letter.tenant_id,
        execution_id=letter.execution_id,
        node_id=letter.node_id,
        queue=letter.queue,
        exchange=letter.exchange,
        routing_key=letter.routing_key,
        message_id=letter.message_id,
        reason=letter.reason,
        body_excerpt=letter.body_excerpt,
        headers=dumps(letter.headers) if letter.headers else None,
    )


_LOAD_PAYLOAD = Query("SELECT payload FROM orchestrator.executions WHERE id = :id")


async def load_payload(conn: Connection, execution_id: str) -> Any:
    """The trigger's output, kept on the row while the execution waits its turn."""
    return await _LOAD_PAYLOAD.fetchval(conn, id=execution_id)
