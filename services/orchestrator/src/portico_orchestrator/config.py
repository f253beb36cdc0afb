"""Orchestrator settings, read from `PORTICO_*` environment variables."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from portico_contracts.runtime import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, AmqpUrl, DatabaseUrl


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore")

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL

    # Unacked messages per consumer: results of many executions are handled concurrently.
    prefetch: int = Field(default=64, ge=1, le=10_000)
    # Connections for the hot path: a transaction takes a few ms, so a handful carries
    # thousands of results a second; handlers beyond that wait for one, not for the server.
    # PostgreSQL's max_connections (100 by default) is shared by every service and replica.
    db_pool_size: int = Field(default=8, ge=1, le=500)
    db_max_overflow: int = Field(default=8, ge=0, le=500)
    db_read_pool_size: int = Field(default=3, ge=1, le=100)

    # The relay republishes outbox rows that the process which wrote them never confirmed.
    outbox_relay_interval_s: float = Field(default=2.0, gt=0, le=3600)
    # Rows younger than this are left to the in-process publisher that is about to send them.
    outbox_relay_grace_s: float = Field(default=5.0, ge=0, le=3600)
    outbox_relay_batch: int = Field(default=500, ge=1, le=10_000)
    # Published rows are deleted in batches this often, off the hot path.
    outbox_cleanup_interval_s: float = Field(default=0.2, gt=0, le=60)

    # Declare `executor.<type>` for every known node type at start-up (see outbox.py).
    declare_executor_queues: bool = True

    # How often to look for timers written by other replicas (own timers wake us precisely).
    timer_poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timer_workers: int = Field(default=4, ge=1, le=64)

    # Graph snapshots and node outputs of running executions kept in memory (both immutable).
    cache_executions: int = Field(default=5_000, ge=1)
    cache_output_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper
