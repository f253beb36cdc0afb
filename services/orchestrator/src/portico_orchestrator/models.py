"""Tables of the `orchestrator` schema (SQLAlchemy Core; the migrations create them).

The hot path reads and writes one `executions` row per message: it holds the readiness state
of every node (`node_state`, a JSONB map) and the event counter, so a node result never has to
reload the whole execution. `node_runs` is the durable record of each node for the API.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "orchestrator"

metadata = sa.MetaData(schema=SCHEMA)

_TS = sa.DateTime(timezone=True)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("workflow_id", sa.Text, nullable=False),
    sa.Column("workflow_version", sa.Integer, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("trigger_node_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("graph", JSONB, nullable=False),
    sa.Column("payload", JSONB),
    # {node_id: {"s": status, "a": attempt, "b": branch, "w": suspended}}: readiness input.
    sa.Column("node_state", JSONB, nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    # Bumped by every save: a save without the row lock checks nobody saved in between.
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("error", JSONB),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("started_at", _TS),
    sa.Column("finished_at", _TS),
    sa.Column("retry_of", sa.Text),  # the execution this one retries
    sa.Column("max_concurrency", sa.Integer),  # the workflow's limit, for admitting it later
    # Spent by its AI node runs, every attempt included (see usage.py).
    sa.Column("input_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Numeric(18, 8), nullable=False, server_default="0"),
    # Keyset pagination (newest first) per tenant, optionally per workflow or status.
    sa.Index("ix_executions_tenant_created", "tenant_id", "created_at", "id"),
    sa.Index("ix_executions_tenant_workflow", "tenant_id", "workflow_id", "created_at", "id"),
    sa.Index("ix_executions_tenant_status", "tenant_id", "status", "created_at", "id"),
    sa.Index(
        "ix_executions_running",
        "tenant_id",
        "workflow_id",
        postgresql_where=sa.text("status = 'running'"),
    ),
    sa.Index(
        "ix_executions_queued",
        "tenant_id",
        "created_at",
        "id",
        postgresql_where=sa.text("status = 'queued'"),
    ),
    # What the watchdog scans.
    sa.Index(
        "ix_executions_unfinished",
        "created_at",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    ),
)

node_runs = sa.Table(
    "node_runs",
    metadata,
    sa.Column(
        "execution_id",
        sa.Text,
        sa.ForeignKey(f"{SCHEMA}.executions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("node_id", sa.Text, primary_key=True),
    sa.Column("ordinal", sa.Integer, nullable=False),  # position in the graph, for display
    sa.Column("node_type", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("input", JSONB),
    sa.Column("output", JSONB),
    sa.Column("error", JSONB),
    sa.Column("started_at", _TS),
    sa.Column("finished_at", _TS),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "execution_id",
        sa.Text,
        sa.ForeignKey(f"{SCHEMA}.executions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("node_id", sa.Text),
    sa.Column("at", _TS, nullable=False),
    sa.Column("body", JSONB, nullable=False),  # the StatusEvent exactly as published
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("exchange", sa.Text, nullable=False),
    sa.Column("routing_key", sa.Text, nullable=False),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # JSON, encoded once, sent byte for byte
    sa.Column("headers", JSONB),  # W3C trace context to send along
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    # The replica that publishes it; the relay takes a row only once that replica is gone.
    sa.Column("owner", sa.Integer),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_next_attempt", "next_attempt_at", "id"),
)

timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "execution_id",
        sa.Text,
        sa.ForeignKey(f"{SCHEMA}.executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("node_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # "retry" (next attempt) or "resume" (same one)
    sa.Column("attempt", sa.Integer, nullable=False),  # the attempt to dispatch when due
    sa.Column("due_at", _TS, nullable=False),
    sa.Column("dispatched_at", _TS),  # first dispatch of a resumed attempt
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    # At most one pending timer per node: a duplicate result cannot double the wait.
    sa.UniqueConstraint("execution_id", "node_id", name="uq_timers_node"),
    sa.Index("ix_timers_due", "due_at"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("tenant_id", sa.Text),  # null when the message was too broken to say
    sa.Column("execution_id", sa.Text),
    sa.Column("node_id", sa.Text),
    sa.Column("queue", sa.Text),
    sa.Column("exchange", sa.Text),
    sa.Column("routing_key", sa.Text),
    sa.Column("message_id", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("body_excerpt", sa.Text),  # the first few KiB, for a person to look at
    sa.Column("headers", JSONB),
    sa.Index("ix_dead_letters_tenant", "tenant_id", "id"),
    sa.Index("ix_dead_letters_execution", "execution_id"),
)
