"""Settings of the executors service, all read from `PORTICO_*` environment variables.

A bad value stops start-up with a message naming the variable (see `__main__.load_settings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from portico_contracts.runtime import DEFAULT_AMQP_URL, AmqpUrl
from portico_executors.ai.pricing import PRICES_ENV, PriceTable, parse_prices, read_price_file

# Kept here (not imported from `nodes`) so reading settings never imports the node runners.
EXECUTOR_TYPES: tuple[str, ...] = (
    "http",
    "transform",
    "condition",
    "merge",
    "wait",
    "slack",
    "discord",
    "ai",
)


def _split_commas(value: Any) -> Any:
    """Comma-separated env values ("http, wait") become tuples; lists pass through."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore", populate_by_name=True)

    amqp_url: AmqpUrl = DEFAULT_AMQP_URL

    # Which node types this process consumes, so each type can be deployed and scaled alone.
    types: Annotated[tuple[str, ...], NoDecode] = Field(
        default=EXECUTOR_TYPES,
        validation_alias="PORTICO_EXECUTOR_TYPES",
    )
    # Unacked deliveries per queue; also the number of nodes of one type run concurrently.
    prefetch: int = Field(default=64, ge=1, le=10_000, validation_alias="PORTICO_EXECUTOR_PREFETCH")
    # Host names, IP addresses or CIDR networks the http node may reach although private.
    http_allow_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Largest response body the http node reads; unset, the same as `max_output_bytes`, since
    # a bigger body could only make an output that fails the node anyway.
    http_max_response_bytes: int | None = Field(default=None, ge=1024)
    http_user_agent: str = "Portico/0.1"
    # Waits up to this long sleep inside the executor; longer ones are handed back as
    # `suspended` so the orchestrator's durable timer holds them instead of a delivery.
    wait_inline_limit_s: float = Field(default=60.0, ge=0, le=3600)
    # Bounds of every JSONata evaluation, checked by the evaluator itself; a sandbox worker
    # still running shortly after the timeout is killed (see sandbox.py).
    jsonata_timeout_ms: int = Field(default=5_000, ge=1)
    jsonata_max_depth: int = Field(default=500, ge=10)
    # Largest node output, JSON-encoded. Results travel through RabbitMQ (128 MiB at most) and
    # outputs feed later nodes' messages, so an output over this fails its node instead.
    max_output_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    # Templates and JSONata run in sandbox worker processes (sandbox.py), never in the event
    # loop: one runaway expression must not stall every other node of every tenant.
    # Worker processes per executor; a render waits for a free one.
    sandbox_workers: int = Field(default=2, ge=1, le=64)
    # Wall-clock limit for rendering one node's templates; the worker is then killed.
    template_timeout_s: float = Field(default=2.0, gt=0, le=300)
    # Address-space cap of each worker (RLIMIT_AS): what allocates past it fails its node.
    sandbox_memory_mb: int = Field(default=512, ge=128, le=64 * 1024)
    # Largest rendered config (or JSONata result) a worker hands back, in pickled bytes.
    max_rendered_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    # A redelivered node.ready of a node with side effects first asks the orchestrator whether
    # its attempt still awaits a result. Without an answer for this long, the node runs anyway
    # (its Idempotency-Key lets the receiver spot the repeat).
    attempt_check_window_s: float = Field(default=30.0, ge=0, le=600)
    # How long one such question waits for its reply before it is asked again.
    attempt_check_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # Resolving a node's credential (credentials.rpc): the whole wait, shared by the first
    # question and up to `credentials_retries` more asked when one gets no reply. Past it the
    # attempt fails as retryable, and the orchestrator's retry policy takes over.
    credentials_timeout_s: float = Field(default=10.0, gt=0, le=120)
    credentials_retries: int = Field(default=2, ge=0, le=10)
    # Seconds to let in-flight nodes finish on SIGTERM before their deliveries go back.
    graceful_timeout_s: float = Field(default=15.0, gt=0)
    # Declare the orchestrator's results queue too, so no result is lost when the executors
    # start first. Tests that share a vhost with the orchestrator's tests turn it off.
    declare_results_queue: bool = True

    # ai node: USD prices per million tokens over the built-in table (see ai/pricing.py), as
    # a file and/or JSON; after validation `ai_prices` holds both, the variable's entries first.
    ai_prices_file: Path | None = None
    ai_prices: Annotated[PriceTable, NoDecode] = Field(default_factory=dict, validate_default=True)
    # One model call (the SDK's own timeout); a node's timeout_s may cut it shorter.
    ai_timeout_s: float = Field(default=300.0, gt=0, le=3600)

    @property
    def http_response_limit(self) -> int:
        return self.http_max_response_bytes or self.max_output_bytes

    @property
    def sandbox_memory_bytes(self) -> int:
        return self.sandbox_memory_mb * 1024 * 1024

    @field_validator("types", "http_allow_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("ai_prices_file")
    @classmethod
    def _readable_prices(cls, value: Path | None) -> Path | None:
        if value is not None:
            read_price_file(value)  # refuse a bad file at start-up, naming the variable
        return value

    @field_validator("ai_prices", mode="before")
    @classmethod
    def _prices_json(cls, value: Any) -> Any:
        return parse_prices(value, PRICES_ENV) if isinstance(value, str | bytes) else value

    @field_validator("ai_prices")
    @classmethod
    def _with_file_prices(cls, value: PriceTable, info: ValidationInfo) -> PriceTable:
        path = info.data.get("ai_prices_file")
        return {**read_price_file(path), **value} if isinstance(path, Path) else value

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [item for item in value if item not in EXECUTOR_TYPES]
        if unknown:
            raise ValueError(
                f"unknown executor type(s) {', '.join(unknown)}; "
                f"choose from {', '.join(EXECUTOR_TYPES)}"
            )
        if not value:
            raise ValueError("at least one executor type is needed")
        return tuple(dict.fromkeys(value))  # drop duplicates, keep order
