"""What the launcher itself needs to know; each service reads its own settings too."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from portico_contracts.runtime import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, AmqpUrl, DatabaseUrl


class LauncherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore")

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL
    host: str = "127.0.0.1"
    port: int = 8000
    restart_delay_s: float = 1.0
    restart_delay_max_s: float = 30.0
    # Where `portico up` keeps what it generated for a developer machine (see dev_keys.py).
    state_dir: Path = Path(".portico")
    # The built editor the gateway serves; unset, `portico up` looks for web/dist (editor.py).
    web_dir: Path | None = None
