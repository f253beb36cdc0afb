"""Start-up plumbing every service process shares: settings that fail loudly, and the loop."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


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
