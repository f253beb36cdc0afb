"""Credentials service settings, read from `PORTICO_*` environment variables.

`KeySettings` is what `rotate-key` needs (the database and the key ring); `Settings` adds what
the running service needs. Both refuse to exist without a valid ring: there is no default key.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from portico_contracts.grants import load_verify_keys
from portico_contracts.runtime import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, AmqpUrl, DatabaseUrl
from portico_credentials.keyring import KeyRing, KeyRingError, parse_ring, read_ring_file

_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class KeySettings(BaseSettings):
    # hide_input_in_errors: a ValidationError's text must never carry key material.
    model_config = SettingsConfigDict(
        env_prefix="PORTICO_", extra="ignore", hide_input_in_errors=True
    )

    database_url: DatabaseUrl = DEFAULT_DATABASE_URL
    # A mounted file of ring entries (see keyring.py), re-read when it changes. Declared before
    # `credentials_keys` so that field's check can see whether a file was given.
    credentials_keys_file: Path | None = None
    # The ring itself, `kid:base64key` entries, the first one active. Empty counts as unset.
    credentials_keys: SecretStr | None = Field(default=None, validate_default=True)
    # How often a running service looks at the keys file for a change.
    credentials_keys_reload_s: float = Field(default=2.0, gt=0, le=300)
    # Rows re-wrapped per transaction by rotate-key: small, so no lock is held for long.
    credentials_rotation_batch: int = Field(default=100, ge=1, le=10_000)
    # Connections; past the timeouts a request answers `unavailable` instead of waiting.
    db_pool_size: int = Field(default=5, ge=1, le=500)
    db_connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    db_pool_timeout_s: float = Field(default=5.0, gt=0, le=300)
    log_level: str = "INFO"

    @field_validator("credentials_keys_file", mode="before")
    @classmethod
    def _empty_file_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("credentials_keys_file")
    @classmethod
    def _keys_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"{value} is not a file")
        read_ring_file(value)  # raises with what is wrong, never a key
        return value

    @field_validator("credentials_keys")
    @classmethod
    def _keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "credentials_keys_file" not in info.data:
            return value  # the file failed its own check, which says what is wrong
        text = value.get_secret_value().strip() if value is not None else ""
        has_file = info.data["credentials_keys_file"] is not None
        if text and has_file:
            raise ValueError(
                "set this or PORTICO_CREDENTIALS_KEYS_FILE, not both: which ring is the truth?"
            )
        if text:
            parse_ring(text)
            return value
        if not has_file:
            raise ValueError(
                "required: the key ring as kid:base64(32 bytes) entries, comma-separated, the "
                "first one active (or PORTICO_CREDENTIALS_KEYS_FILE naming a file of them); "
                "`portico keys` prints a new one"
            )
        return None

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in _LOG_LEVELS:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    def key_ring(self) -> KeyRing:
        if self.credentials_keys_file is not None:
            return KeyRing.from_file(self.credentials_keys_file, self.credentials_keys_reload_s)
        if self.credentials_keys is None:
            raise KeyRingError("no key ring configured")
        return KeyRing.from_text(self.credentials_keys.get_secret_value())


class Settings(KeySettings):
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL
    # Ed25519 public keys (base64 of 32 bytes, comma-separated) whose grants we honour: the
    # orchestrator's PORTICO_GRANT_SIGNING_KEY's public half (old and new during a change).
    grant_verify_keys: str | None = Field(default=None, validate_default=True)
    # Requests handled at once (each is one short transaction).
    credentials_prefetch: int = Field(default=32, ge=1, le=10_000)
    # On SIGTERM, requests in hand get this long to finish.
    graceful_timeout_s: float = Field(default=15.0, ge=0, le=3600)

    @field_validator("grant_verify_keys")
    @classmethod
    def _verify_keys(cls, value: str | None) -> str:
        if value is None:
            raise ValueError(
                "required: the public half of the orchestrator's PORTICO_GRANT_SIGNING_KEY "
                "(base64, comma-separate several); `portico keys` prints a pair"
            )
        load_verify_keys(value)  # raises with what is wrong
        return value

    def verify_keys(self) -> tuple[Ed25519PublicKey, ...]:
        return load_verify_keys(self.grant_verify_keys or "")
