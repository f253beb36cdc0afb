"""Start-up plumbing every service process shares: settings that fail loudly, and the loop."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, ValidationError
from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portico"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _asyncpg_url(value: str) -> str:
    if not value.startswith("postgresql+asyncpg://"):
        raise ValueError("must be a postgresql+asyncpg:// URL")
    return value


def _amqp_url(value: str) -> str:
    if not value.startswith(("amqp://", "amqps://")):
        raise ValueError("must be an amqp:// or amqps:// URL")
    return value


# Field types every service's Settings uses for PORTICO_DATABASE_URL and PORTICO_AMQP_URL.
DatabaseUrl = Annotated[str, AfterValidator(_asyncpg_url)]
AmqpUrl = Annotated[str, AfterValidator(_amqp_url)]


def settings_problems(exc: ValidationError, prefix: str = "PORTICO_") -> str:
    """`PORTICO_PORT: Input should be a valid integer; …` for every bad variable."""
    return "; ".join(
        f"{prefix}{'_'.join(str(part) for part in error['loc']).upper()}: "
        f"{error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors()
    )


def load_settings_or_exit(
    settings_class: type[SettingsT], service: str, **overrides: Any
) -> SettingsT:
    """Read settings; on a bad value print which variable and why, and exit with status 2."""
    try:
        return settings_class(**overrides)
    except ValidationError as exc:
        print(f"{service}: invalid settings: {settings_problems(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    # uvloop, where installed, takes a tenth or so off the CPU spent per message.
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def stop_requested() -> None:
    """Return once SIGTERM or SIGINT arrives: a service's cue to drain and stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
