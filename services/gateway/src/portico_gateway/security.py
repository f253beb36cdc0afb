"""Passwords (argon2id), session tokens and API keys.

Session tokens and API keys are 256-bit random secrets, so a plain sha256 is enough to store
them: nothing can be brute-forced. Passwords are chosen by people and get argon2id.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.concurrency import run_in_threadpool

API_KEY_PREFIX = "pk_"
# How much of a key is kept in clear so people can tell their keys apart.
API_KEY_DISPLAY_CHARS = len(API_KEY_PREFIX) + 8

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way and
# response times do not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("portico-dummy-password")


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow (tens of ms); keep it off the event loop.
    return await run_in_threadpool(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return bool(_hasher.verify(password_hash or _DUMMY_HASH, password))
        except (VerificationError, InvalidHashError):
            return False

    ok = await run_in_threadpool(verify)
    return ok and password_hash is not None


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and 20 <= len(value) <= 200
