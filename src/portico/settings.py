"""What the launcher itself needs to know; each service reads its own settings too."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class LauncherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/portico"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    host: str = "127.0.0.1"
    port: int = 8000
    restart_delay_s: float = 1.0
    restart_delay_max_s: float = 30.0
