"""Accounts, sessions and API keys: the logic, without HTTP. Callers own the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from portico_gateway import repository as repo
from portico_gateway.errors import ConflictError, InvalidCredentialsError, NotFoundError
from portico_gateway.models import ApiKey, User
from portico_gateway.security import (
    API_KEY_DISPLAY_CHARS,
    PasswordHashing,
    new_api_key,
    new_session_token,
    sha256_hex,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_uuid(value: str) -> bool:
    """Is `value` an id as this API writes them (lower-case, hyphenated)?

    Only that spelling: uuid.UUID also reads "urn:uuid:…" and "{…}", which the database
    driver refuses, so they would be a 500 rather than the 404 of any unknown id.
    """
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@dataclass(frozen=True)
class Principal:
    """Who is calling: every query below the endpoints is scoped by `tenant_id`."""

    user_id: str
    tenant_id: str
    email: str
    created_at: datetime
    api_key_id: str | None = None


async def signup(db: AsyncSession, passwords: PasswordHashing, email: str, password: str) -> User:
    user = await repo.add_user(db, email, await passwords.hash(password))
    if user is None:
        raise ConflictError(f"an account with the email {email} already exists")
    return user


async def login(
    db: AsyncSession, passwords: PasswordHashing, email: str, password: str, ttl_s: int
) -> tuple[User, str]:
    """Check the password and open a session; returns the user and the cookie's token."""
    user = await repo.user_by_email(db, email)
    # The hash is checked even without a user, so timing does not tell which emails exist.
    # The connection goes back to the pool meanwhile: the check may wait for a hashing slot.
    await db.commit()
    if not await passwords.verify(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentialsError("wrong email or password")
    token = new_session_token()
    now = utcnow()
    await repo.add_session(db, user, sha256_hex(token), now + timedelta(seconds=ttl_s), now)
    return user, token


async def logout(db: AsyncSession, token: str) -> None:
    await repo.delete_session(db, sha256_hex(token))


async def create_api_key(db: AsyncSession, principal: Principal, name: str) -> tuple[ApiKey, str]:
    """Returns the key row and its secret; only the sha256 of the secret is stored."""
    secret = new_api_key()
    key = await repo.add_api_key(
        db,
        principal.tenant_id,
        principal.user_id,
        name,
        secret[:API_KEY_DISPLAY_CHARS],
        sha256_hex(secret),
    )
    return key, secret


async def list_api_keys(db: AsyncSession, principal: Principal) -> list[ApiKey]:
    return await repo.list_api_keys(db, principal.tenant_id)


async def revoke_api_key(db: AsyncSession, principal: Principal, key_id: str) -> None:
    if not is_uuid(key_id) or not await repo.revoke_api_key(
        db, principal.tenant_id, key_id, utcnow()
    ):
        raise NotFoundError(f"API key {key_id} not found")
