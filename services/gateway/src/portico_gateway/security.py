"""Passwords (argon2id), session tokens and API keys.

Session tokens and API keys are 256-bit random secrets, so a plain sha256 is enough to store
them: nothing can be brute-forced. Passwords are chosen by people and get argon2id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portico_gateway.errors import BusyError

T = TypeVar("T")

API_KEY_PREFIX = "pk_"
# How much of a key is kept in clear so people can tell their keys apart.
API_KEY_DISPLAY_CHARS = len(API_KEY_PREFIX) + 8

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way and
# response times do not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("portico-dummy-password")


# Niceness of the hashing threads (and of argon2's lane threads, which inherit it): a burst of
# hashes must not starve the event loop of CPU, or every other request waits behind them.
HASHING_NICENESS = 10


def _yield_cpu() -> None:
    """Lower this thread's CPU priority (Linux schedules threads one by one)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class PasswordHashing:
    """argon2id off the event loop, at most `concurrency` at once and `queue` more waiting.

    Each hash takes 64 MiB and tens of milliseconds, so unbounded concurrency turns a burst
    of logins into gigabytes and a stalled gateway. Past the queue a caller gets BusyError at
    once. The slot is freed when the hash finishes, not when its caller stops waiting, so
    abandoned requests cannot pile work up behind the bound.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(
            concurrency, thread_name_prefix="argon2", initializer=_yield_cpu
        )
        self._capacity = concurrency + queue
        self._admitted = 0

    async def _run(self, work: Callable[[], T]) -> T:
        if self._admitted >= self._capacity:
            raise BusyError(
                "too many sign-ins are being checked right now; try again shortly",
                retry_after_s=1,
            )
        loop = asyncio.get_running_loop()
        self._admitted += 1
        future = self._executor.submit(work)
        future.add_done_callback(lambda _: self._release_from_thread(loop))
        return await asyncio.wrap_future(future)

    def _release_from_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        self._admitted -= 1

    async def hash(self, password: str) -> str:
        return await self._run(lambda: _hasher.hash(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def verify() -> bool:
            try:
                return bool(_hasher.verify(password_hash or _DUMMY_HASH, password))
            except (VerificationError, InvalidHashError):
                return False

        ok = await self._run(verify)
        return ok and password_hash is not None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and 20 <= len(value) <= 200
