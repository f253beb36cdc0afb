"""The orchestrator's RPC surface (queue `orchestrator.rpc`): requests and replies.

Every request carries the caller's `tenant_id`; the orchestrator filters every query by it, so
another tenant's execution is simply not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portico_contracts.ai import TokenUsage
from portico_contracts.messages import ExecutionStatus, NodeError, NodeRunStatus, StatusEvent


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_id: str = Field(min_length=1)


class GetExecution(_Query):
    op: Literal["get_execution"] = "get_execution"
    execution_id: str


class ListExecutions(_Query):
    op: Literal["list_executions"] = "list_executions"
    workflow_id: str | None = None
    status: ExecutionStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")


class EventsSince(_Query):
    """Status events of one execution with seq > `after_seq`, oldest first."""

    op: Literal["events_since"] = "events_since"
    execution_id: str
    after_seq: int = Field(default=0, ge=0)
    limit: int = Field(default=1000, ge=1, le=5000)


class CancelExecutionRequest(_Query):
    """Cancel and reply with the execution as it now is (cancelled, or already terminal)."""

    op: Literal["cancel_execution"] = "cancel_execution"
    execution_id: str
    reason: str | None = None


class RetryExecutionRequest(_Query):
    """Start a new execution of a failed or cancelled one: nodes that succeeded keep their
    outputs, the rest run again. Replies with the new execution's summary."""

    op: Literal["retry_execution"] = "retry_execution"
    execution_id: str
    new_execution_id: str = Field(min_length=1, max_length=100)


class AttemptStatus(_Query):
    """Asked by an executor before it redoes a side effect for a redelivered node.ready:
    does this attempt still await its result? Replies `{"awaiting": bool}`."""

    op: Literal["attempt_status"] = "attempt_status"
    execution_id: str
    node_id: str
    attempt: int = Field(ge=1)


class ListDeadLetters(_Query):
    """Messages the system gave up on (dead-lettered) that belong to this tenant, newest first."""

    op: Literal["list_dead_letters"] = "list_dead_letters"
    execution_id: str | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")


class IssueGrant(_Query):
    """Asked by the gateway for `POST /api/ai/generate-config`: a short-lived grant to read one
    credential for one request that is not a node run. Replies `{"grant", "execution_id",
    "node_id"}`; the credentials service still checks the credential is this tenant's."""

    op: Literal["issue_grant"] = "issue_grant"
    credential_id: str = Field(max_length=100)
    purpose: Literal["generate_config"] = "generate_config"
    requested_by: str = Field(max_length=200, description="The user, for the access audit.")


class ListSchedules(_Query):
    """The tenant's active cron triggers and when each runs next (answer: `SchedulesPage`)."""

    op: Literal["list_schedules"] = "list_schedules"
    workflow_id: str | None = None
    limit: int = Field(default=200, ge=1, le=1000)


# As many as one page of `GET /api/workflows` holds.
MAX_LATEST_EXECUTIONS_WORKFLOWS = 500


class LatestExecutions(_Query):
    """The most recent execution (by creation) of each listed workflow of this tenant, for the
    editor's workflow list (answer: `LatestExecutionsPage`; a workflow never run is absent)."""

    op: Literal["latest_executions"] = "latest_executions"
    workflow_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        max_length=MAX_LATEST_EXECUTIONS_WORKFLOWS
    )


OrchestratorQuery = Annotated[
    GetExecution
    | ListExecutions
    | EventsSince
    | CancelExecutionRequest
    | RetryExecutionRequest
    | AttemptStatus
    | ListDeadLetters
    | IssueGrant
    | ListSchedules
    | LatestExecutions,
    Field(discriminator="op"),
]


class ScheduleView(BaseModel):
    workflow_id: str
    workflow_version: int
    node_id: str
    expression: str
    timezone: str
    misfire: str
    next_fire_at: datetime


class SchedulesPage(BaseModel):
    items: list[ScheduleView]


class NodeRunView(BaseModel):
    node_id: str
    node_type: str
    status: NodeRunStatus
    attempt: int
    input: Any = None
    output: Any = None
    error: NodeError | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ExecutionSummary(BaseModel):
    id: str
    workflow_id: str
    workflow_version: int
    status: ExecutionStatus
    mode: str
    trigger_node_id: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: NodeError | None = None
    last_seq: int = 0
    # The execution this one retries (POST /api/executions/{id}/retry), if any.
    retry_of: str | None = None
    # Summed over its AI node runs (every attempt that reported usage): what the run cost.
    usage: TokenUsage = Field(default_factory=TokenUsage)
    cost_usd: float = 0.0


class LatestExecutionView(BaseModel):
    workflow_id: str
    id: str
    status: ExecutionStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class LatestExecutionsPage(BaseModel):
    items: list[LatestExecutionView]


class ExecutionDetail(ExecutionSummary):
    payload: Any = None
    node_runs: list[NodeRunView] = Field(default_factory=list)


class ExecutionPage(BaseModel):
    items: list[ExecutionSummary]
    next_cursor: str | None = None


class EventsPage(BaseModel):
    events: list[StatusEvent]
    last_seq: int


class DeadLetterView(BaseModel):
    id: int
    at: datetime
    queue: str | None = None
    exchange: str | None = None
    routing_key: str | None = None
    message_id: str | None = None
    reason: str
    execution_id: str | None = None
    node_id: str | None = None


class DeadLetterPage(BaseModel):
    items: list[DeadLetterView]
    next_cursor: str | None = None


class RpcError(BaseModel):
    # unavailable: the service's database (or a provider) is unreachable for now; ask again
    # later. forbidden: a credential grant that is forged, expired or for something else.
    code: Literal[
        "not_found", "invalid_request", "conflict", "unavailable", "forbidden", "internal"
    ]
    message: str


class RpcReply(BaseModel):
    """Every RPC reply: exactly one of `result` or `error`."""

    result: dict[str, Any] | None = None
    error: RpcError | None = None
