"""Gateway settings: every variable is `PORTICO_<NAME>`, with defaults for a developer machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from portico_contracts.runtime import (
    DEFAULT_AMQP_URL,
    DEFAULT_DATABASE_URL,
    AmqpUrl,
    DatabaseUrl,
    settings_problems,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore")

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    session_cookie_name: str = Field(default="portico_session", pattern=r"^[A-Za-z0-9_-]+$")
    session_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    # Off by default so the editor works over plain http on a laptop; set it behind TLS.
    session_cookie_secure: bool = False

    rpc_timeout_s: float = Field(default=5.0, gt=0, le=120)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # Bigger bodies get a 413 before any parsing, so a huge upload cannot exhaust memory.
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

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
