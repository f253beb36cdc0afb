"""One pydantic config model per node type, and the registry the rest of Portico reads.

String fields are Jinja templates unless marked `NOT_TEMPLATED` (a JSONata expression, say):
the executors render every other string right before the node runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from portico_contracts.node_config import MAX_JSON_SCHEMA_BYTES, NOT_TEMPLATED, NodeConfig
from portico_contracts.triggers import (
    CronTriggerConfig,
    EventTriggerConfig,
    WebhookTriggerConfig,
)


class ManualTriggerConfig(NodeConfig):
    """Started from the editor or `POST /api/workflows/{id}/run`; its output is the payload."""

    sample_payload: dict[str, Any] | None = Field(
        default=None,
        description="Example payload the editor offers when you run the workflow by hand.",
        json_schema_extra=NOT_TEMPLATED,
    )


HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class HttpConfig(NodeConfig):
    """Call an HTTP endpoint. Non-2xx responses fail the node unless `allow_non_2xx` is set."""

    # `"{{ trigger.id }}"` in a header renders to the number itself; a header is text.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    method: HttpMethod = "GET"
    url: str = Field(min_length=1, description="Absolute http(s) URL; templates allowed.")
    query: dict[str, Any] = Field(default_factory=dict, description="Query-string parameters.")
    headers: dict[str, str] = Field(default_factory=dict)
    body_type: Literal["none", "json", "form", "raw"] = "none"
    body: Any = Field(
        default=None,
        description="JSON value for `json`, an object of fields for `form`, a string for `raw`.",
    )
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    allow_non_2xx: bool = Field(default=False, description="Succeed on any status code.")
    follow_redirects: bool = True
    response_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="`auto` parses JSON when the response says it is JSON."
    )

    @model_validator(mode="after")
    def _body_matches_type(self) -> HttpConfig:
        if self.body_type == "none" and self.body is not None:
            raise ValueError(
                "body is set but body_type is 'none': set body_type to json, form or raw"
            )
        if self.body_type == "form" and not isinstance(self.body, dict):
            raise ValueError("body_type 'form' needs body to be an object of field names to values")
        if self.body_type == "raw" and not isinstance(self.body, str):
            raise ValueError("body_type 'raw' needs body to be a string")
        return self


class AiConfig(NodeConfig):
    """Call a language model. The credential's type must match `provider`."""

    provider: Literal["openai", "anthropic", "gemini"]
    model: str = Field(min_length=1, max_length=200, description="For example gpt-4o-mini.")
    system: str | None = Field(default=None, max_length=100_000, description="System prompt.")
    prompt: str = Field(min_length=1, max_length=500_000, description="The user message.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema the answer must satisfy; the parsed answer is output `json`.",
        json_schema_extra=NOT_TEMPLATED,
    )
    stream: bool = Field(default=True, description="Send the text as it grows to live viewers.")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from jsonschema import Draft202012Validator, SchemaError

        if len(json.dumps(value)) > MAX_JSON_SCHEMA_BYTES:
            raise ValueError(f"json_schema is over {MAX_JSON_SCHEMA_BYTES} bytes")
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"json_schema is not a valid JSON Schema: {exc.message}") from None
        return value


class SlackConfig(NodeConfig):
    """Post a message through a Slack incoming webhook (a `slack_webhook` credential)."""

    text: str = Field(min_length=1, max_length=40_000, description="Message text (mrkdwn).")
    blocks: list[dict[str, Any]] | None = Field(
        default=None, max_length=50, description="Block Kit blocks; `text` is the fallback."
    )
    unfurl_links: bool | None = None


class DiscordEmbed(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4096)


class DiscordConfig(NodeConfig):
    """Post a message through a Discord webhook (a `discord_webhook` credential)."""

    content: str | None = Field(default=None, max_length=2000)
    embeds: list[DiscordEmbed] | None = Field(default=None, max_length=10)
    username: str | None = Field(default=None, max_length=80)
    avatar_url: str | None = Field(default=None, max_length=2048)
    tts: bool = False

    @model_validator(mode="after")
    def _something_to_post(self) -> DiscordConfig:
        if not self.content and not self.embeds:
            raise ValueError("set `content`, `embeds`, or both")
        return self


class TransformConfig(NodeConfig):
    """Reshape data: a JSONata `expression`, or a `mapping` of output fields to templates.

    The JSONata input is `{"trigger", "nodes", "execution", "input"}`, the same names templates see.
    """

    expression: str | None = Field(
        default=None, description="A JSONata expression.", json_schema_extra=NOT_TEMPLATED
    )
    mapping: dict[str, Any] | None = Field(
        default=None, description="Output field names to values or templates."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> TransformConfig:
        if (self.expression is None) == (self.mapping is None):
            raise ValueError("set exactly one of `expression` (JSONata) or `mapping`")
        if self.expression is not None:
            from portico_contracts.jsonata_check import jsonata_error

            problem = jsonata_error(self.expression)
            if problem:
                raise ValueError(f"expression: {problem}")
        return self


ConditionOperator = Literal[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "not_contains",
    "matches",
    "exists",
    "not_exists",
]


class ConditionRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="Usually a template such as `{{ nodes.x.output.plan }}`.")
    operator: ConditionOperator
    compare_to: Any = None
    branch: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")

    @model_validator(mode="after")
    def _operands(self) -> ConditionRule:
        if self.operator in ("exists", "not_exists"):
            return self
        if self.compare_to is None and self.operator not in ("eq", "ne"):
            raise ValueError(f"operator '{self.operator}' needs compare_to")
        if self.operator == "matches" and isinstance(self.compare_to, str):
            try:
                re.compile(self.compare_to)
            except re.error as exc:
                raise ValueError(f"compare_to is not a valid regular expression: {exc}") from exc
        return self


class ConditionConfig(NodeConfig):
    """Pick one branch: the first rule that matches, else `default_branch`."""

    rules: list[ConditionRule] = Field(min_length=1)
    default_branch: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("default_branch")
    @classmethod
    def _not_error(cls, value: str) -> str:
        if value == "error":
            raise ValueError("'error' is reserved for error edges; pick another branch name")
        return value

    @model_validator(mode="after")
    def _no_error_branch(self) -> ConditionConfig:
        if any(rule.branch == "error" for rule in self.rules):
            raise ValueError("'error' is reserved for error edges; pick another branch name")
        return self

    def branches(self) -> set[str]:
        return {rule.branch for rule in self.rules} | {self.default_branch}


class MergeConfig(NodeConfig):
    """Wait for every active input; output them keyed by node id, or as a list."""

    mode: Literal["by_node", "list"] = "by_node"


class WaitConfig(NodeConfig):
    """Pause the branch: for `seconds`, or until the ISO-8601 time `until` (a template)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    seconds: float | None = Field(default=None, ge=0, le=30 * 24 * 3600)
    until: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> WaitConfig:
        if (self.seconds is None) == (self.until is None):
            raise ValueError("set exactly one of `seconds` or `until`")
        return self


@dataclass(frozen=True)
class NodeType:
    name: str
    config_model: type[NodeConfig]
    category: Literal["trigger", "action", "logic"]
    label: str
    description: str
    needs_credential: bool = False
    # Credential types a node of this type may name in `credential_id` (none: it takes none).
    credential_types: tuple[str, ...] = ()

    @property
    def is_trigger(self) -> bool:
        return self.category == "trigger"

    def json_schema(self) -> dict[str, Any]:
        return self.config_model.model_json_schema()


NODE_TYPES: dict[str, NodeType] = {
    t.name: t
    for t in [
        NodeType(
            "trigger.manual",
            ManualTriggerConfig,
            "trigger",
            "Manual trigger",
            "Run by hand or through the API; outputs the run payload.",
        ),
        NodeType(
            "trigger.webhook",
            WebhookTriggerConfig,
            "trigger",
            "Webhook",
            "Started by an HTTP request to /hooks/{path}; outputs the request.",
            credential_types=("hmac_secret",),
        ),
        NodeType(
            "trigger.cron",
            CronTriggerConfig,
            "trigger",
            "Schedule",
            "Started on a cron schedule in a time zone, once per slot.",
        ),
        NodeType(
            "trigger.event",
            EventTriggerConfig,
            "trigger",
            "Broker event",
            "Started by a JSON message on the portico.events exchange matching a topic pattern.",
        ),
        NodeType(
            "http",
            HttpConfig,
            "action",
            "HTTP request",
            "Call an HTTP API; JSON responses are parsed.",
            credential_types=("http_bearer", "http_basic", "http_header"),
        ),
        NodeType(
            "ai",
            AiConfig,
            "action",
            "AI model",
            "Prompt an OpenAI, Anthropic or Gemini model; optional structured (JSON) output.",
            needs_credential=True,
            credential_types=("openai", "anthropic", "gemini"),
        ),
        NodeType(
            "slack",
            SlackConfig,
            "action",
            "Slack message",
            "Post a message to a Slack channel through an incoming webhook.",
            needs_credential=True,
            credential_types=("slack_webhook",),
        ),
        NodeType(
            "discord",
            DiscordConfig,
            "action",
            "Discord message",
            "Post a message to a Discord channel through a webhook.",
            needs_credential=True,
            credential_types=("discord_webhook",),
        ),
        NodeType(
            "transform",
            TransformConfig,
            "logic",
            "Transform",
            "Reshape data with JSONata or a field mapping.",
        ),
        NodeType(
            "condition", ConditionConfig, "logic", "Condition", "Route to one branch by rules."
        ),
        NodeType("merge", MergeConfig, "logic", "Merge", "Join branches."),
        NodeType("wait", WaitConfig, "logic", "Wait", "Pause for a while or until a time."),
    ]
}

# Edges leaving a failed node through this handle carry its error.
ERROR_HANDLE = "error"
