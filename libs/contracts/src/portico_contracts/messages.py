"""Every message that crosses RabbitMQ: commands (imperative), node traffic, status events.

Each carries `schema_version`, a unique `message_id` and the `tenant_id` it belongs to.
Consumers refuse (dead-letter) anything that does not validate against these models.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from portico_contracts.graph import WorkflowGraph

SCHEMA_VERSION: Final = 1  # bump with a Literal[…] union when a message changes shape


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = 1
    message_id: str = Field(default_factory=new_id, min_length=1, max_length=100)
    tenant_id: str = Field(min_length=1, max_length=100)


# --- commands: gateway (and later cron/webhooks) → orchestrator ---------------------------------


class StartExecution(Message):
    """Run `graph` (a snapshot of one saved version) from `trigger_node_id` with `payload`."""

    execution_id: str = Field(min_length=1, max_length=100)
    workflow_id: str = Field(min_length=1, max_length=100)
    workflow_version: int = Field(ge=1, le=2**31 - 1)
    graph: WorkflowGraph
    trigger_node_id: str
    payload: Any = None
    mode: Literal["manual", "webhook", "cron", "event", "test"] = "manual"


# The gateway counts each workflow's activation changes; a receiver applies a message only if
# its count is newer than the last it applied, so a late or repeated message never undoes a
# later one (a re-sent activation after a deactivation, say).
ActivationSequence = Annotated[int, Field(ge=1, le=2**62)]


class WorkflowActivated(Message):
    """Turn this version's webhook, cron and event triggers on (a newer version of an active
    workflow sends this again: its triggers replace the old version's)."""

    sequence: ActivationSequence
    workflow_id: str = Field(min_length=1, max_length=100)
    workflow_version: int = Field(ge=1, le=2**31 - 1)
    graph: WorkflowGraph


class WorkflowDeactivated(Message):
    sequence: ActivationSequence
    workflow_id: str = Field(min_length=1, max_length=100)


class CancelExecution(Message):
    execution_id: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=500)


# --- node traffic: orchestrator ↔ executors -------------------------------------------------------


class NodeError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message: str
    type: str = "NodeError"
    retryable: bool = False
    details: dict[str, Any] | None = None


class ExecutionInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    workflow_id: str
    started_at: datetime


class NodeReady(Message):
    """Run one attempt of one node. `context` is what its templates may read.

    `context` = {"trigger": …, "nodes": {ancestor_id: {"output": …}}, "execution": {…}};
    `inputs` = outputs of the predecessors whose edges into this node are active (an error edge
    carries the failed node's error).
    """

    execution_id: str
    workflow_id: str
    node_id: str
    node_type: str
    attempt: int = Field(ge=1)
    config: dict[str, Any]
    credential_id: str | None = None
    credential_grant: str | None = None
    timeout_s: float | None = None
    trigger: Any = None
    nodes: dict[str, Any] = Field(default_factory=dict)
    execution: ExecutionInfo
    inputs: dict[str, Any] = Field(default_factory=dict)
    dispatched_at: datetime = Field(default_factory=utcnow)

    def template_context(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "nodes": self.nodes,
            "execution": self.execution.model_dump(mode="json"),
            "input": self.inputs,
        }


class NodeResult(Message):
    """One attempt's outcome; `suspended` asks to be dispatched again at `resume_at`."""

    execution_id: str
    node_id: str
    attempt: int = Field(ge=1)
    status: Literal["succeeded", "failed", "suspended"]
    output: Any = None
    branch: str | None = None
    error: NodeError | None = None
    resume_at: datetime | None = None
    started_at: datetime
    finished_at: datetime
    # The node's config after its templates were rendered (None if rendering failed): what
    # the run's recorded input is. Only the executor that rendered it knows it.
    input: dict[str, Any] | None = None


# --- status events: orchestrator → gateways (→ WebSocket clients) ---------------------------------

ExecutionStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
NodeRunStatus = Literal[
    "queued", "running", "retrying", "succeeded", "failed", "skipped", "cancelled"
]
TERMINAL_EXECUTION_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
TERMINAL_NODE_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "skipped", "cancelled"})

StatusEventType = Literal[
    "execution.queued",
    "execution.started",
    "execution.succeeded",
    "execution.failed",
    "execution.cancelled",
    "node.running",
    "node.retrying",
    "node.succeeded",
    "node.failed",
    "node.skipped",
    "node.cancelled",
]


class StatusEvent(Message):
    """Something happened to an execution. `seq` counts from 1 per execution, without gaps."""

    execution_id: str
    workflow_id: str
    seq: int = Field(ge=1)
    type: StatusEventType
    at: datetime = Field(default_factory=utcnow)
    node_id: str | None = None
    status: str
    attempt: int | None = None
    output: Any = None
    error: NodeError | None = None


# Namespace of the uuid5 message ids of `StatusEvents`.
STATUS_EVENTS_NAMESPACE = uuid.UUID("602e4abc-6450-4b36-848f-db54dcaa539c")


def status_events_id(execution_id: str, first_seq: int, last_seq: int) -> str:
    """The message id of the `StatusEvents` carrying seqs `first_seq`…`last_seq` of one
    execution. Derived, not random: each seq is allocated once, so the same events always
    make the same id, and a batch published again (by the outbox relay after a lost confirm)
    is recognisably the same message."""
    name = f"{execution_id}\x1f{first_seq}\x1f{last_seq}"
    return str(uuid.uuid5(STATUS_EVENTS_NAMESPACE, name))


class StatusEvents(Message):
    """The status events of one orchestrator transaction, as one message: consecutive seqs of
    one execution, in seq order, on the same `status.*` routing key a single `StatusEvent`
    would take. A consumer handles them one by one, as if each had come on its own."""

    execution_id: str
    workflow_id: str
    events: list[StatusEvent] = Field(min_length=1)

    @model_validator(mode="after")
    def _consecutive_events_of_one_execution(self) -> StatusEvents:
        owner = (self.tenant_id, self.execution_id, self.workflow_id)
        first = self.events[0].seq
        for offset, event in enumerate(self.events):
            if (event.tenant_id, event.execution_id, event.workflow_id) != owner:
                raise ValueError(f"event {event.seq} belongs to another execution")
            if event.seq != first + offset:
                raise ValueError(f"event {event.seq} is out of order: expected {first + offset}")
        return self


# What a `status.*` routing key carries: a batch, or a single event (as published before
# batches existed; one may still wait in an outbox or a queue during an upgrade).
StatusMessage = Annotated[StatusEvents | StatusEvent, Field(union_mode="left_to_right")]


def encode_status_events(events: Sequence[tuple[StatusEvent, str]]) -> tuple[str, str]:
    """The message id and JSON body of the `StatusEvents` carrying `events` (not empty, in seq
    order), each given with its own JSON.

    The same text as `model_dump_json()` of the batch, but spliced from the events' JSON, which
    the orchestrator encodes anyway for its events table: a large node output is encoded once,
    and the live event is byte for byte the event a replay returns."""
    first, last = events[0][0], events[-1][0]
    message_id = status_events_id(first.execution_id, first.seq, last.seq)
    head = {
        "schema_version": SCHEMA_VERSION,
        "message_id": message_id,
        "tenant_id": first.tenant_id,
        "execution_id": first.execution_id,
        "workflow_id": first.workflow_id,
    }
    fields = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    body = f'{fields},"events":[{",".join(text for _, text in events)}]}}'
    return message_id, body


class NodeProgress(Message):
    """Partial output of a running node (an AI node's text as it streams), for live viewers.

    Published by the executor straight to the status exchange under `progress_key`, not
    persisted and without a `seq`: a viewer that misses some still gets the whole output
    in `node.succeeded`. `index` counts the chunks of one attempt from 0, so a viewer can
    spot a gap; `text` is the chunk, appended in order it rebuilds the text so far.
    """

    type: Literal["node.progress"] = "node.progress"
    execution_id: str
    workflow_id: str
    node_id: str
    attempt: int = Field(ge=1)
    index: int = Field(ge=0)
    text: str
    at: datetime = Field(default_factory=utcnow)
