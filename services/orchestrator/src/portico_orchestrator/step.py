"""One transaction's worth of change to an execution, gathered in memory before it is written.

A `Step` collects node-state changes, status events (numbered under the execution's row lock),
outgoing messages and timers; the repository then writes all of it with a fixed handful of
statements, and the caller publishes the messages after commit. The status events go out
together, as one `StatusEvents` message per step.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from portico_contracts.ai import TokenUsage
from portico_contracts.messages import (
    SCHEMA_VERSION,
    Message,
    NodeError,
    StatusEvent,
    StatusEventType,
    encode_status_events,
    new_id,
)
from portico_contracts.queries import ExecutionSummary
from portico_contracts.topology import STATUS_EXCHANGE, status_key
from portico_orchestrator.cache import Outputs
from portico_orchestrator.readiness import GraphIndex, NodeState
from portico_orchestrator.usage import Spent

# A step's status events go out as one message up to this size (characters of JSON, close
# enough to bytes for a soft bound; far under the default message limit of 32 MiB): past it,
# a message's own cost is small beside its body's.
STATUS_BATCH_MAX_CHARS = 1024 * 1024

# A status event, and its JSON as the events table stores it and its status message carries it.
RecordedEvent = tuple[StatusEvent, str]

# An escaped NUL (an odd run of backslashes, then u0000): JSON allows it, jsonb refuses it.
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def jsonb_safe(text: str) -> str:
    """JSON text PostgreSQL's jsonb accepts: NUL characters become U+FFFD."""
    if "\\u0000" not in text:
        return text
    return _ESCAPED_NUL.sub(lambda m: m.group(1) + "\\ufffd", text)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _encode(value: Any) -> str:
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, default=_default, allow_nan=False
    )


def dumps(value: Any) -> str:
    try:
        text = _encode(value)
    except ValueError:
        # NaN and ±Infinity parse (1e400 overflows to inf) but jsonb has no such numbers:
        # null, as pydantic writes them into the messages.
        text = _encode(_finite(value))
    return jsonb_safe(text)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    exchange: str
    routing_key: str
    message_id: str
    body: str
    headers: dict[str, str] | None = None  # W3C trace context of the message that caused it


@dataclass(frozen=True, slots=True)
class TimerSpec:
    node_id: str
    kind: str  # "retry" or "resume"
    attempt: int
    due_at: datetime
    dispatched_at: datetime | None = None


@dataclass(slots=True)
class ExecutionRow:
    """The execution row as the hot path sees it (the graph snapshot is cached separately)."""

    id: str
    tenant_id: str
    workflow_id: str
    workflow_version: int
    mode: str
    trigger_node_id: str
    status: str
    states: dict[str, NodeState]
    last_seq: int
    created_at: datetime
    version: int = 0  # bumped by every save (see repository.save_step)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: NodeError | None = None
    retry_of: str | None = None
    max_concurrency: int | None = None  # the workflow's limit (written once, at creation)
    # What its AI nodes had spent when the row was read (summed by repository.add_spent).
    spent: Spent | None = None

    def copy(self) -> ExecutionRow:
        """A copy a step may change without touching this one (node states are immutable)."""
        return replace(self, states=dict(self.states))

    def summary(self) -> ExecutionSummary:
        spent = self.spent or Spent(TokenUsage(), 0.0)
        return ExecutionSummary(
            usage=spent.usage,
            cost_usd=spent.cost_usd,
            id=self.id,
            workflow_id=self.workflow_id,
            workflow_version=self.workflow_version,
            status=self.status,
            mode=self.mode,
            trigger_node_id=self.trigger_node_id,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            error=self.error,
            last_seq=self.last_seq,
            retry_of=self.retry_of,
        )


def encode_states(states: dict[str, NodeState]) -> str:
    compact: dict[str, dict[str, Any]] = {}
    for node_id, state in states.items():
        item: dict[str, Any] = {"s": state.status, "a": state.attempt}
        if state.branch is not None:
            item["b"] = state.branch
        if state.suspended:
            item["w"] = True
        if state.dispatched is not None:
            item["d"] = state.dispatched
        if state.sent is not None:
            item["t"] = state.sent
        if state.redispatched:
            item["r"] = state.redispatched
        compact[node_id] = item
    return dumps(compact)


def decode_states(raw: dict[str, dict[str, Any]]) -> dict[str, NodeState]:
    return {
        node_id: NodeState(
            item["s"],
            item.get("a", 0),
            item.get("b"),
            item.get("w", False),
            item.get("d"),
            item.get("t"),
            item.get("r", 0),
        )
        for node_id, item in raw.items()
    }


@dataclass
class Step:
    row: ExecutionRow
    index: GraphIndex
    now: datetime
    cached: Outputs = field(default_factory=dict)  # outputs this replica already knows
    learned: Outputs = field(default_factory=dict)  # outputs to remember once committed
    learned_size: int = 0
    trace: dict[str, str] | None = None  # carried on to every message this step sends
    owner: int | None = None  # the outbox owner key of the replica writing this step
    node_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[RecordedEvent] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)  # status events apart
    timers: list[TimerSpec] = field(default_factory=list)

    @property
    def states(self) -> dict[str, NodeState]:
        return self.row.states

    def set_node(self, node_id: str, state: NodeState, **fields: Any) -> None:
        """Change a node's readiness state and, through `fields`, its node_runs record."""
        self.row.states[node_id] = state
        update = self.node_updates.setdefault(node_id, {"node_id": node_id})
        update["status"] = state.status
        update["attempt"] = state.attempt
        update.update(fields)

    def set_execution(self, status: str, error: NodeError | None = None) -> None:
        self.row.status = status
        if status in ("succeeded", "failed", "cancelled"):
            self.row.finished_at = self.now
        if error is not None:
            self.row.error = error

    def emit(
        self,
        type_: StatusEventType,
        status: str,
        *,
        node_id: str | None = None,
        attempt: int | None = None,
        output: Any = None,
        error: NodeError | None = None,
    ) -> None:
        """Record a status event; its seq is allocated here, under the execution's row lock."""
        self.row.last_seq += 1
        # Built from the state machine's own, already valid data: no validation pass.
        event = StatusEvent.model_construct(
            # Every field given: a default factory costs model_construct a signature check.
            schema_version=SCHEMA_VERSION,
            message_id=new_id(),
            tenant_id=self.row.tenant_id,
            execution_id=self.row.id,
            workflow_id=self.row.workflow_id,
            seq=self.row.last_seq,
            type=type_,
            at=self.now,
            node_id=node_id,
            status=status,
            attempt=attempt,
            output=output,
            error=error,
        )
        # jsonb-safe once, here: the events table holds this text and the status message
        # carries it as is, so a live event and its replay are the same.
        self.events.append((event, jsonb_safe(event.model_dump_json())))

    def send(
        self, exchange: str, routing_key: str, message: Message, body: str | None = None
    ) -> None:
        """Queue `message` for publishing after commit; `body` if the caller encoded it."""
        encoded = message.model_dump_json() if body is None else body
        self.messages.append(
            OutboxMessage(exchange, routing_key, message.message_id, encoded, self.trace)
        )

    def outbox(self) -> list[OutboxMessage]:
        """Every message this step publishes: those sent, then one carrying all its status
        events (a message per transaction, not per event: most of a message's cost is per
        message, whatever it carries), or a few if large outputs make them big. Call it once
        per step: the status bodies are encoded here."""
        if not self.events:
            return self.messages
        key = status_key(self.row.tenant_id, self.row.workflow_id, self.row.id)
        status = []
        for batch in _status_batches(self.events):
            # Each event's text is jsonb-safe already, and so is a batch spliced from them.
            message_id, body = encode_status_events(batch)
            status.append(OutboxMessage(STATUS_EXCHANGE.name, key, message_id, body, self.trace))
        return [*self.messages, *status]

    def add_timer(self, timer: TimerSpec) -> None:
        self.timers.append(timer)

    def learn(self, node_id: str, output: Any, error: Any, size: int) -> None:
        self.learned[node_id] = (output, error)
        self.learned_size += size

    def node_rows_json(self) -> str:
        return dumps(list(self.node_updates.values()))


def _status_batches(events: list[RecordedEvent]) -> list[list[RecordedEvent]]:
    """The events in runs of consecutive seqs, one run unless together they are over
    `STATUS_BATCH_MAX_CHARS`: then each run stays under it, or is one event alone. So large
    outputs (a fan-in of many) never add up to a message over PORTICO_MAX_MESSAGE_BYTES, which
    the outbox would park, its events lost to live viewers, where each event alone fits."""
    batches: list[list[RecordedEvent]] = [[]]
    size = 0
    for event in events:
        if batches[-1] and size + len(event[1]) > STATUS_BATCH_MAX_CHARS:
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += len(event[1])
    return batches


@dataclass
class Effects:
    """What to do after commit: publish these outbox rows, wake the timer loop for these,
    remember these outputs (or forget a finished execution)."""

    messages: list[tuple[int, OutboxMessage]] = field(default_factory=list)
    timer_due: list[datetime] = field(default_factory=list)
    execution_id: str | None = None
    tenant_id: str | None = None
    finished: bool = False
    # Once finished: whether the tenant has queued executions (None: not known, ask).
    tenant_queued: bool | None = None
    outputs: Outputs = field(default_factory=dict)
    outputs_size: int = 0
    # The execution row as saved (its new version): what this replica may apply the next
    # results to without the row lock.
    row: ExecutionRow | None = None
