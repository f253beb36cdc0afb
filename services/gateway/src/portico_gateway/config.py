"""Gateway settings: every variable is `PORTICO_<NAME>`, with defaults for a developer machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import AfterValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from portico_contracts.runtime import (
    DEFAULT_AMQP_URL,
    DEFAULT_DATABASE_URL,
    AmqpUrl,
    DatabaseUrl,
    settings_problems,
)


def _rate_limit(value: str) -> str:
    """ "N/second|minute|hour|day", several joined by ";" (all apply), or "" for no limit."""
    value = value.strip()
    if value:
        parse_many(value)  # raises ValueError naming the string
    return value


RateLimit = Annotated[str, AfterValidator(_rate_limit)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore")

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    session_cookie_name: str = Field(default="portico_session", pattern=r"^[A-Za-z0-9_-]+$")
    session_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    # "auto": Secure, except on a plain-http request to a loopback host (a laptop running
    # the editor without TLS). true/false force it either way.
    session_cookie_secure: bool | Literal["auto"] = "auto"

    rpc_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # Writing a node config takes the model up to a few tries; past this it is a 503.
    ai_generate_timeout_s: float = Field(default=120.0, gt=0, le=600)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # A connection attempt to an unreachable database gives up after this, so a request
    # during an outage is a quick 503 rather than a wait of asyncpg's default 60 s.
    db_connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Waiting longer than this for a free pooled connection is a 503 (the pool is exhausted).
    db_pool_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Validated graphs of saved versions kept in memory (LRU), so a run parses none.
    graph_cache_entries: int = Field(default=256, ge=1, le=100_000)
    # Retry-After (seconds) sent with a 503: database, RabbitMQ or orchestrator unreachable.
    unavailable_retry_after_s: int = Field(default=5, ge=1, le=3600)

    # Rate limits, answered 429 with Retry-After. Each replica counts in its own memory, so
    # behind N replicas a client gets up to N times these. Client addresses are what uvicorn
    # reports (behind a proxy, start uvicorn with --forwarded-allow-ips for X-Forwarded-For).
    rate_limit_runs_per_tenant: RateLimit = "1000/minute"  # run and retry requests
    rate_limit_login_per_ip: RateLimit = "60/minute"  # password guessing from one address
    rate_limit_login_per_account: RateLimit = "10/minute"  # guessing one account's password
    rate_limit_signup_per_ip: RateLimit = "60/hour"  # mass account creation
    rate_limit_signup_per_account: RateLimit = "5/hour"  # hammering one email address
    rate_limit_ws_connect_per_ip: RateLimit = "60/minute"  # each connect costs an auth query
    # POST /api/ai/generate-config calls a model on the account's own API key: its money.
    rate_limit_ai_generate_per_tenant: RateLimit = "10/minute;100/day"
    # Requests to /hooks/... (live and test URLs) per workflow owner: each starts a run.
    rate_limit_webhooks_per_tenant: RateLimit = "600/minute"

    # argon2id takes 64 MiB and tens of ms per hash: at most this many run at once (memory is
    # bounded by it), each on its own thread off the event loop...
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    # ...and at most this many more wait; beyond that a signup/login is a quick 503 with
    # Retry-After instead of an unbounded queue that makes every other request slow.
    password_hash_queue: int = Field(default=16, ge=0, le=10_000)

    # Idempotency-Key on run requests: how long a key is remembered, and how often expired
    # keys are deleted.
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    idempotency_cleanup_interval_s: float = Field(default=600.0, ge=1, le=24 * 3600)
    # Bigger bodies get a 413 before any parsing, so a huge upload cannot exhaust memory.
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    # Webhooks: a request body becomes the run's trigger output, so it is kept smaller.
    webhook_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # `respond: wait`: how often the orchestrator is asked whether the run ended, in case
    # the status event saying so was missed.
    webhook_wait_poll_s: float = Field(default=2.0, gt=0, le=60)
    # POST /api/workflows/{id}/webhook-test listens this long for one request.
    webhook_test_listen_s: int = Field(default=120, ge=5, le=3600)

    # permessage-deflate on WebSockets. Off by default, as in Socket.IO and Node's ws: status
    # frames are small and many, and compressing each cost the gateway about a tenth of its
    # CPU per run (and the client as much to inflate). Worth it for slow links to the editor.
    ws_compression: bool = False

    # Comma-separated origins allowed by CORS (and for cookie-authenticated WebSockets).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The built editor (web/dist); served at / when set.
    web_dir: Path | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("web_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value


class SettingsError(RuntimeError):
    """Start-up refused: the message names each bad `PORTICO_*` variable."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(f"invalid gateway settings: {settings_problems(exc)}") from exc
