"""Trigger node configs (webhook, cron, broker event) and activation: how the world starts a
workflow. Every string here is plain configuration, never a template (`NOT_TEMPLATED`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from portico_contracts.node_config import NOT_TEMPLATED, NodeConfig

WEBHOOK_PATH_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-/]{0,199}$"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
# A topic pattern: dot-separated words of letters, digits, '-', '_', or '*' (one word) / '#'.
_TOPIC_WORD = re.compile(r"^([A-Za-z0-9_\-]+|\*|#)$")
WebhookMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class WebhookAuth(BaseModel):
    """How a webhook request proves it is genuine. `header` and `hmac`/`stripe` read the secret
    of the node's `hmac_secret` credential; the credentials service compares, so the gateway
    never holds it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["none", "header", "hmac", "stripe"] = "none"
    header: str = Field(
        default="X-Signature",
        description="`header`: the header carrying the token; `hmac`: the signature header.",
        json_schema_extra=NOT_TEMPLATED,
    )
    prefix: str = Field(
        default="",
        max_length=32,
        description="`hmac`: text before the hex digest in the header, like `sha256=`.",
        json_schema_extra=NOT_TEMPLATED,
    )
    tolerance_s: int = Field(
        default=300, ge=1, le=86_400, description="`stripe`: the oldest timestamp accepted."
    )

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError("not a valid HTTP header name")
        return value


def _post_only() -> list[WebhookMethod]:
    return ["POST"]


class WebhookTriggerConfig(NodeConfig):
    """Started by an HTTP request to `/hooks/{path}` (active workflows) or `/hooks/test/{path}`
    (while someone listens for a test event). Its output: method, path, query, headers, body."""

    path: str = Field(pattern=WEBHOOK_PATH_PATTERN, json_schema_extra=NOT_TEMPLATED)
    methods: list[WebhookMethod] = Field(default_factory=_post_only, min_length=1)
    auth: WebhookAuth = Field(default_factory=WebhookAuth, json_schema_extra=NOT_TEMPLATED)
    respond: Literal["ack", "wait"] = Field(
        default="ack",
        description="`ack`: 202 with the execution id at once; `wait`: the answer of a node.",
    )
    response_node: str | None = Field(
        default=None,
        description="`wait`: whose output is the response body (default: the last to finish).",
        json_schema_extra=NOT_TEMPLATED,
    )
    response_status: int = Field(default=200, ge=200, le=599)
    response_headers: dict[str, str] = Field(default_factory=dict, json_schema_extra=NOT_TEMPLATED)
    wait_timeout_s: float = Field(
        default=30.0, gt=0, le=300, description="`wait`: past this, 202 with the execution id."
    )
    preset: Literal["none", "stripe", "google_forms"] = Field(
        default="none", description="Shape the trigger output like this known sender's events."
    )

    @model_validator(mode="after")
    def _consistent(self) -> WebhookTriggerConfig:
        if self.preset == "stripe" and self.auth.type not in ("stripe", "none"):
            raise ValueError("the stripe preset signs with auth type 'stripe'")
        if ".." in self.path.split("/"):
            raise ValueError("path may not contain '..'")
        return self


class CronTriggerConfig(NodeConfig):
    """Started on a schedule: 5 cron fields, or 6 with seconds first, in an IANA time zone."""

    expression: str = Field(min_length=9, max_length=200, json_schema_extra=NOT_TEMPLATED)
    timezone: str = Field(default="UTC", max_length=64, json_schema_extra=NOT_TEMPLATED)
    misfire: Literal["skip", "run_once"] = Field(
        default="skip",
        description="After downtime: `skip` the missed slots, or `run_once` for all of them.",
    )

    @model_validator(mode="after")
    def _valid(self) -> CronTriggerConfig:
        from portico_contracts.schedule import schedule_error

        problem = schedule_error(self.expression, self.timezone)
        if problem:
            raise ValueError(problem)
        return self


class EventTriggerConfig(NodeConfig):
    """Started by a JSON message published to the `portico.events` topic exchange whose
    routing key matches `pattern` (`orders.*`, `billing.#`). Output: routing key, headers,
    body."""

    pattern: str = Field(min_length=1, max_length=255, json_schema_extra=NOT_TEMPLATED)

    @field_validator("pattern")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not all(_TOPIC_WORD.match(word) for word in value.split(".")):
            raise ValueError(
                "a topic pattern is dot-separated words of letters, digits, '-' and '_', "
                "or '*' (one word) and '#' (any words)"
            )
        return value


def topic_matches(pattern: str, routing_key: str) -> bool:
    """RabbitMQ's topic matching: `*` is exactly one word, `#` zero or more."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match(rest, words[1:])
