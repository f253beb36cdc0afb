"""Jobs for the sandbox tests. A module of its own, light to import: workers unpickle these
functions by reference, so they import this module (and nothing heavier)."""

from __future__ import annotations

import os
import time
from typing import Any

from portico_executors.errors import NodeRunError


def echo(value: Any) -> Any:
    return value


def pid() -> int:
    return os.getpid()


def spin(seconds: float) -> str:
    """Busy CPU (no sleep a signal could cut short) for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass
    return "done"


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def fail_like_a_node() -> None:
    raise NodeRunError("nope", type="Custom", retryable=True, details={"k": [1]})


class _UnpicklableError(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(a)  # args do not match __init__: pickle cannot rebuild it


def fail_oddly() -> None:
    raise _UnpicklableError(1, 2)


def die() -> None:
    os._exit(3)


def unsendable() -> Any:
    return lambda: None
