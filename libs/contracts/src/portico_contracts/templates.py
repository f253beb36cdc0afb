"""Jinja2 templates for node configs: sandboxed, strict, native values for whole expressions.

Both the gateway (to refuse a graph whose templates do not parse) and the executors (to render
a node's config right before running it) use this module, so a template that saves is a
template that renders the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "TemplateRenderError",
    "check_template",
    "is_template",
    "render_value",
    "template_errors",
]

# A field whose whole value is one `{{ … }}` yields the expression's native value.
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)


class TemplateRenderError(ValueError):
    """A template failed to render; `path` names the config field it came from."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, default=str, ensure_ascii=False)


def _fromjson(value: str) -> Any:
    return json.loads(value)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise TypeError(f"date filter expects a datetime, ISO string or epoch seconds, got {value!r}")


def _date(value: Any, fmt: str = "%Y-%m-%dT%H:%M:%S%z") -> str:
    return _as_datetime(value).strftime(fmt)


# `*` and `**` are the two operators a short template can turn into seconds of CPU or
# gigabytes of memory ("a" * 10**9, 9 ** 9 ** 9); results past these bounds are refused.
MAX_SEQUENCE_LENGTH = 1_000_000
MAX_EXPONENT = 10_000


def _too_long(value: Any, times: Any) -> bool:
    return (
        isinstance(value, str | list | tuple)
        and isinstance(times, int)
        and len(value) * times > MAX_SEQUENCE_LENGTH
    )


class _DataFirstEnvironment(ImmutableSandboxedEnvironment):
    """`a.items` means the key "items" of a JSON object, not the dict method of that name.

    Workflow data is JSON, so a key always wins over a Python attribute of the container.
    The sandbox also bounds `*` and `**`, which Jinja's own sandbox lets run unbounded.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise SecurityError(f"the result would be longer than {MAX_SEQUENCE_LENGTH} items")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _build_environment() -> ImmutableSandboxedEnvironment:
    env = _DataFirstEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters.update({"tojson": _tojson, "fromjson": _fromjson, "date": _date})
    env.globals.clear()  # no range(), lipsum() or dict() in user templates
    return env


_ENV = _build_environment()


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


@lru_cache(maxsize=4096)
def _compile_template(source: str) -> Any:
    return _ENV.from_string(source)


@lru_cache(maxsize=4096)
def _compile_expression(expression: str) -> Any:
    return _ENV.compile_expression(expression, undefined_to_none=False)


def check_template(source: str) -> str | None:
    """Return why `source` does not parse, or None when it does."""
    if not is_template(source):
        return None
    try:
        whole = _WHOLE_EXPRESSION.match(source)
        if whole:
            _compile_expression(whole.group("expr"))
        else:
            _compile_template(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message} (line {exc.lineno})"
    except (RecursionError, SyntaxError):
        # Jinja's grammar allows it, but Jinja or Python's compiler gives up on the depth.
        return "template is nested too deeply to compile; simplify the expression"
    return None


def template_errors(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, reason) of a template inside `value` that does not parse."""
    if isinstance(value, str):
        reason = check_template(value)
        return [(path, reason)] if reason else []
    if isinstance(value, Mapping):
        found: list[tuple[str, str]] = []
        for key, item in value.items():
            found += template_errors(item, f"{path}.{key}" if path else str(key))
        return found
    if isinstance(value, list | tuple):
        found = []
        for index, item in enumerate(value):
            found += template_errors(item, f"{path}[{index}]")
        return found
    return []


def _render_string(source: str, context: Mapping[str, Any], path: str) -> Any:
    try:
        whole = _WHOLE_EXPRESSION.match(source)
        if whole:
            result = _compile_expression(whole.group("expr"))(**context)
            if isinstance(result, Undefined):
                # StrictUndefined only raises when used; a bare reference must fail too.
                str(result)
            if isinstance(result, Iterator):
                # `xs | map(…)` yields a generator; the node wants the list it stands for.
                return list(result)
            return result
        return _compile_template(source).render(**context)
    except UndefinedError as exc:
        raise TemplateRenderError(path, f"undefined value: {exc.message}") from exc
    except SecurityError as exc:
        raise TemplateRenderError(path, f"not allowed in a template: {exc}") from exc
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(path, f"template syntax error: {exc.message}") from exc
    except Exception as exc:  # a filter raised (bad JSON, bad date…): report, never crash
        raise TemplateRenderError(path, f"{type(exc).__name__}: {exc}") from exc


def render_value(value: Any, context: Mapping[str, Any], path: str = "") -> Any:
    """Render every template string inside `value` (dicts and lists walked recursively)."""
    if isinstance(value, str):
        return _render_string(value, context, path) if is_template(value) else value
    if isinstance(value, Mapping):
        return {
            key: render_value(item, context, f"{path}.{key}" if path else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [render_value(item, context, f"{path}[{i}]") for i, item in enumerate(value)]
    return value
