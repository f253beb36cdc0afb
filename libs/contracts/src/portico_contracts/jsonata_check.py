"""Parse-check JSONata at save time so a broken expression is a 422, not a failed run."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1024)
def jsonata_error(expression: str) -> str | None:
    import jsonata  # imported lazily: only graphs with a transform pay for it

    try:
        jsonata.Jsonata(expression)
    except Exception as exc:  # jsonata raises its own JException for every syntax problem
        return f"JSONata syntax error: {exc}"
    return None
