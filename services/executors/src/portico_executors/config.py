"""Settings of the executors service, all read from `PORTICO_*` environment variables.

A bad value stops start-up with a message naming the variable (see `__main__.load_settings`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from portico_contracts.runtime import DEFAULT_AMQP_URL, AmqpUrl

# Kept here (not imported from `nodes`) so reading settings never imports the node runners.
EXECUTOR_TYPES: tuple[str, ...] = ("http", "transform", "condition", "merge", "wait")


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
    http_max_response_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    http_user_agent: str = "Portico/0.1"
    # Waits up to this long sleep inside the executor; longer ones are handed back as
    # `suspended` so the orchestrator's durable timer holds them instead of a delivery.
    wait_inline_limit_s: float = Field(default=60.0, ge=0, le=3600)
    # A runaway JSONata expression blocks the event loop; these bound every evaluation.
    jsonata_timeout_ms: int = Field(default=5_000, ge=1)
    jsonata_max_depth: int = Field(default=500, ge=10)
    # Seconds to let in-flight nodes finish on SIGTERM before their deliveries go back.
    graceful_timeout_s: float = Field(default=15.0, gt=0)
    # Declare the orchestrator's results queue too, so no result is lost when the executors
    # start first. Tests that share a vhost with the orchestrator's tests turn it off.
    declare_results_queue: bool = True

    @field_validator("types", "http_allow_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split_commas(value)

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
