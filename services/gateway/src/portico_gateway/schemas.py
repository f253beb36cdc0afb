"""Request and response bodies of the public API (what /docs shows)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portico_contracts.ai import AiProvider
from portico_contracts.credentials import CREDENTIAL_ID_PATTERN, CredentialType
from portico_contracts.graph import NODE_ID_PATTERN
from portico_contracts.messages import ExecutionStatus
from portico_contracts.nodes import NODE_TYPES
from portico_gateway.json_safety import (
    check_storable,
    has_control_characters,
    has_unstorable_characters,
)

# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is proven by
# mail, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$")

# Versions are stored as PostgreSQL integers; a larger number can never exist, so it is a 422.
MAX_VERSION = 2**31 - 1

EXPORT_FORMAT = "portico.workflow"
EXPORT_FORMAT_VERSION = 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _normalize_email(value: str) -> str:
    value = value.strip().lower()
    if has_control_characters(value) or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _password(value: str) -> str:
    # Passwords are hashed as UTF-8: a lone surrogate cannot be, and NUL is surely a mistake.
    if has_unstorable_characters(value):
        raise ValueError("must not contain NUL characters or lone surrogates")
    return value


class SignupRequest(_Body):
    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(min_length=8, max_length=1024)

    _email = field_validator("email")(_normalize_email)
    _password = field_validator("password")(_password)


class LoginRequest(_Body):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=1024)

    _password = field_validator("password")(_password)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        if has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value.strip().lower()


class UserView(BaseModel):
    id: str
    tenant_id: str
    email: str
    created_at: datetime


class ApiKeyCreate(_Body):
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value.strip()


class ApiKeyView(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyView):
    secret: str = Field(description="The whole key. Shown only in this response; store it now.")


# `GET /api/workflows?q=`: a name fragment, not a document.
MAX_WORKFLOW_QUERY = 200


class WorkflowFields(BaseModel):
    """What a workflow row says about itself, in the list and in its detail alike."""

    id: str
    name: str
    description: str | None = None
    latest_version: int
    # Its webhook, cron and event triggers listen (POST .../activate, .../deactivate).
    active: bool = False
    created_at: datetime
    updated_at: datetime


class LastExecution(BaseModel):
    """The most recent execution of a workflow, as the workflow list shows it."""

    id: str
    status: ExecutionStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class WorkflowSummary(WorkflowFields):
    last_execution: LastExecution | None = Field(
        description=(
            "Its most recent execution; null when it never ran, or when the orchestrator did "
            "not answer in time (the list is still served)."
        )
    )


class WorkflowList(BaseModel):
    items: list[WorkflowSummary]
    total: int


class WorkflowDetail(WorkflowFields):
    version: int = Field(description="The version whose graph this is (the latest).")
    graph: dict[str, Any]


class VersionSummary(BaseModel):
    version: int
    name: str | None = None
    created_at: datetime
    created_by: str | None = None


class VersionDetail(VersionSummary):
    workflow_id: str
    graph: dict[str, Any]


class ExportSource(BaseModel):
    workflow_id: str
    version: int


class WorkflowExport(BaseModel):
    format: Literal["portico.workflow"] = "portico.workflow"
    format_version: Literal[1] = 1
    exported_at: datetime
    source: ExportSource | None = None
    graph: dict[str, Any]


class RunRequest(_Body):
    payload: Any = Field(default_factory=dict, description="The trigger's output.")
    trigger_node_id: str | None = Field(default=None, pattern=NODE_ID_PATTERN)
    version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="Defaults to the latest."
    )

    _storable = field_validator("payload")(check_storable)


class RunAccepted(BaseModel):
    execution_id: str
    workflow_id: str
    workflow_version: int
    trigger_node_id: str


class RetryAccepted(BaseModel):
    execution_id: str = Field(description="The new execution.")
    retry_of: str = Field(description="The execution it retries.")


class CancelRequest(BaseModel):
    # Lenient on purpose: cancelling must not fail over an unexpected field.
    reason: str | None = Field(default=None, max_length=500)

    _storable = field_validator("reason")(check_storable)


class NodeTypeView(BaseModel):
    name: str
    label: str
    category: str
    description: str
    needs_credential: bool
    # Credential types its `credential_id` may name (empty: it takes none).
    credential_types: list[str]
    is_trigger: bool
    config_schema: dict[str, Any]


def _credential_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValueError("must not be blank")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value.strip()


_DATA_DESCRIPTION = (
    "The secret fields of the type (see GET /api/credential-types). Write-only: sealed by the "
    "credentials service and never shown again, in any response."
)


class CredentialCreate(_Body):
    name: str = Field(min_length=1, max_length=200, examples=["OpenAI (team account)"])
    type: CredentialType
    data: dict[str, Any] = Field(
        description=_DATA_DESCRIPTION, json_schema_extra={"writeOnly": True}
    )

    _name = field_validator("name")(_credential_name)


class CredentialUpdate(_Body):
    """Rename, replace the secret, or both; what is left out stays as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    data: dict[str, Any] | None = Field(
        default=None, description=_DATA_DESCRIPTION, json_schema_extra={"writeOnly": True}
    )

    _name = field_validator("name")(_credential_name)


class CredentialTypeView(BaseModel):
    name: CredentialType
    label: str
    data_schema: dict[str, Any] = Field(
        description="JSON schema of `data`; secret fields are writeOnly with format password."
    )
    node_types: list[str] = Field(description="Node types that take a credential of this type.")


def _known_node_type(value: str) -> str:
    if value not in NODE_TYPES:
        raise ValueError(f"unknown node type; choose one of {', '.join(NODE_TYPES)}")
    return value


class GenerateConfigRequest(_Body):
    node_type: str = Field(
        min_length=1, max_length=100, json_schema_extra={"enum": list(NODE_TYPES)}
    )
    description: str = Field(
        min_length=1,
        max_length=4000,
        description="What the node should do, in plain English.",
        examples=["POST the trigger's email to https://crm.example.com/leads as JSON"],
    )
    provider: AiProvider
    credential_id: str = Field(
        pattern=CREDENTIAL_ID_PATTERN, description="A credential of the provider's type."
    )
    model: str | None = Field(
        default=None, min_length=1, max_length=200, description="Defaults to the provider's."
    )

    _node_type = field_validator("node_type")(_known_node_type)
    _description = field_validator("description")(check_storable)


class WebhookAccepted(BaseModel):
    """A webhook request started this execution (answered before it ended)."""

    execution_id: str


class WebhookTestStatus(BaseModel):
    """Listening for one request to the test URL, and what it caught."""

    listening: bool
    path: str
    test_url: str = Field(description="Where to send the test request (relative to the host).")
    expires_at: datetime
    request: dict[str, Any] | None = Field(
        default=None, description="The request caught: the webhook node's output."
    )
    execution_id: str | None = None
