"""Orchestrator settings, read from `PORTICO_*` environment variables."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from portico_contracts.grants import load_signing_key
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

    # The relay publishes outbox rows whose writer is gone or whose publish failed.
    outbox_relay_interval_s: float = Field(default=2.0, gt=0, le=3600)
    outbox_relay_batch: int = Field(default=500, ge=1, le=10_000)
    # A row still failing after this many tries (backing off up to a minute each) is parked:
    # recorded as a dead letter, and the node it dispatched fails with the reason.
    outbox_max_attempts: int = Field(default=20, ge=1, le=1000)
    # Largest message we publish. RabbitMQ refuses (and closes the channel on) anything over
    # its max_message_size (128 MiB by default); a node whose inputs exceed this fails instead.
    max_message_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024, le=512 * 1024 * 1024)
    # Published rows are deleted in batches this often, off the hot path.
    outbox_cleanup_interval_s: float = Field(default=0.2, gt=0, le=60)

    # Declare `executor.<type>` for every known node type at start-up (see outbox.py).
    declare_executor_queues: bool = True

    # How often to look for timers written by other replicas (own timers wake us precisely).
    timer_poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timer_workers: int = Field(default=4, ge=1, le=64)

    # Executions of one tenant running at once; more wait as `queued` (a workflow can set a
    # lower limit of its own in its graph's settings.max_concurrency).
    tenant_max_running: int = Field(default=1000, ge=1, le=1_000_000)

    # The watchdog: a node dispatched this long ago without a result (its timeout_s plus
    # `watchdog_grace_s`, or `node_deadline_s` when it has none) is dispatched once more, then
    # its attempt fails as a retryable Timeout.
    watchdog_interval_s: float = Field(default=5.0, gt=0, le=3600)
    node_deadline_s: float = Field(default=300.0, gt=0, le=7 * 24 * 3600)
    # A wait node's deadline: the executors' PORTICO_WAIT_INLINE_LIMIT_S (60 s by default; a
    # longer wait is handed back as `suspended`) plus a grace. Raise both together.
    wait_deadline_s: float = Field(default=90.0, gt=0, le=7 * 24 * 3600)
    watchdog_grace_s: float = Field(default=30.0, ge=0, le=3600)
    watchdog_redispatches: int = Field(default=1, ge=0, le=10)

    # Cron triggers: how often to look for slots that came due on other replicas' watch (the
    # loop also sleeps exactly until the earliest one), and how late past the FOLLOWING slot a
    # slot may be handled before it counts as a misfire (the trigger's `misfire` policy).
    cron_poll_interval_s: float = Field(default=0.5, gt=0, le=3600)
    cron_misfire_grace_s: float = Field(default=2.0, ge=0, le=24 * 3600)

    # Graph snapshots and node outputs of running executions kept in memory (both immutable).
    cache_executions: int = Field(default=5_000, ge=1)
    cache_output_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # Graph versions kept parsed and indexed (versions are immutable): what a start reuses.
    cache_graph_versions: int = Field(default=512, ge=1, le=1_000_000)
    # Prometheus metrics (see metrics.py) on this address; no port, no metrics endpoint.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias="PORTICO_ORCHESTRATOR_METRICS_PORT"
    )
    log_level: str = "INFO"

    # Ed25519 private key (base64 of 32 bytes) that signs credential grants; the credentials
    # service holds the public half (PORTICO_GRANT_VERIFY_KEYS). Required: without it no node
    # could ever read a credential, and there is no safe default.
    grant_signing_key: SecretStr
    # A grant outlives its node's deadline by this much (time spent queued for an executor).
    grant_ttl_s: float = Field(default=900.0, ge=10, le=24 * 3600)
    # Grants for one request that is not a node run (generate-config).
    grant_request_ttl_s: float = Field(default=300.0, ge=10, le=3600)

    @field_validator("grant_signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr) -> SecretStr:
        load_signing_key(value.get_secret_value())  # raises with what is wrong
        return value

    def grant_key(self) -> Ed25519PrivateKey:
        return load_signing_key(self.grant_signing_key.get_secret_value())

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper
