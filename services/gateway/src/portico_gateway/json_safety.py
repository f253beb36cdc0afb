"""JSON that parses but cannot be stored: PostgreSQL refuses NUL characters in text and JSONB,
lone UTF-16 surrogates (`"\\ud800"`) are not UTF-8 at all, JSONB has no NaN or Infinity
(which Python's JSON parser accepts), and pydantic will not serialize very deep nesting. Such
input must be a 422 naming where it is, not a 500.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Identifiers we pass on to other services: printable, no separators that mean something.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
MAX_REPORTED = 20
# Far beyond any real config or payload, well within what pydantic serializes.
MAX_DEPTH = 100
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_CONTROL_OR_UNSTORABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _join(path: str, part: object) -> str:
    return f"{path}.{part}" if path else str(part)


def unstorable(value: Any, root: str = "") -> list[tuple[str, str]]:
    """(path, reason) of each unstorable string or number; iterative, so depth cannot crash it."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack and len(found) < MAX_REPORTED:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            found.append((path, f"nested deeper than {MAX_DEPTH} levels"))
        elif isinstance(item, str):
            if _UNSTORABLE_CHARACTER.search(item):
                found.append((path, "contains a NUL character or a lone surrogate"))
        elif isinstance(item, float):
            if not math.isfinite(item):
                found.append((path, f"{item} is not a finite number"))
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _UNSTORABLE_CHARACTER.search(key):
                    found.append(
                        (path, f"key {key!r} contains a NUL character or a lone surrogate")
                    )
                stack.append((child, _join(path, key), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, _join(path, index), depth + 1) for index, child in enumerate(item))
    return found


def check_storable(value: Any) -> Any:
    """A pydantic validator body: raise ValueError naming every unstorable spot."""
    problems = unstorable(value)
    if problems:
        raise ValueError("; ".join(f"{path or 'value'}: {reason}" for path, reason in problems))
    return value


def has_unstorable_characters(text: str) -> bool:
    return _UNSTORABLE_CHARACTER.search(text) is not None


def has_control_characters(text: str) -> bool:
    """Control characters, NUL or lone surrogates: never wanted in a name or an email."""
    return _CONTROL_OR_UNSTORABLE.search(text) is not None
