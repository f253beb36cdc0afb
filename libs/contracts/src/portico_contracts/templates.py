"""Jinja2 templates for node configs: sandboxed, strict, native values for whole expressions.

Both the gateway (to refuse a graph whose templates do not parse) and the executors (to render
a node's config right before running it) use this module, so a template that saves is a
template that renders the same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeGuard

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.parser import Parser
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "TemplateRenderError",
    "check_template",
    "contains_template",
    "is_lookup",
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


# Cheap guards that turn the usual ways a short template explodes into a clear message before
# the work is done. They are not the guarantee: the executors render in a separate process
# with a time, memory and output limit, which also stops whatever these do not foresee.
MAX_SEQUENCE_LENGTH = 1_000_000  # items of a string or list built by `*`, `+` or `~`
# Bits of an integer a template may compute. JSON parsers give up somewhere past 4,300 digits
# (pydantic's does), so a bigger number would make the node's result unreadable downstream.
MAX_INT_BITS = 4_096
MAX_LOOP_ITERATIONS = 100_000  # `{% for %}` iterations per template, nested loops included
MAX_OUTPUT_CHARS = 8 * 1024 * 1024  # characters one template string may render to

# Iterations left to the template being rendered (set per render, see `_render_string`).
_loop_budget: ContextVar[list[int] | None] = ContextVar("_loop_budget", default=None)


def _sequence_length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _power_bits(base: Any, exponent: Any) -> float:
    """Bits of `base ** exponent` for integers (0 when small or not integers)."""
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 0 or abs(base) <= 1:
        return 0.0
    if exponent.bit_length() > 64:  # too big for a float, and certainly too big a result
        return math.inf
    return float(exponent) * math.log2(abs(base))


def _product_length(left: Any, right: Any) -> int:
    """Items of `sequence * count` (either order), 0 when not that shape."""
    for sequence, count in ((left, right), (right, left)):
        length = _sequence_length(sequence)
        if length is not None and _is_int(count):
            return length * int(count)
    return 0


def _binop_problem(operator: str, left: Any, right: Any) -> str | None:
    """Why `left <operator> right` would be too big to compute, or None."""
    if operator == "**" and _power_bits(left, right) > MAX_INT_BITS:
        return f"the result of ** would have more than {MAX_INT_BITS} bits"
    if operator == "*":
        if _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                return f"the result of * would have more than {MAX_INT_BITS} bits"
        elif _product_length(left, right) > MAX_SEQUENCE_LENGTH:
            return f"the result would be longer than {MAX_SEQUENCE_LENGTH} items"
    if operator == "+":
        sizes = (_sequence_length(left), _sequence_length(right))
        if None not in sizes and sum(s or 0 for s in sizes) > MAX_SEQUENCE_LENGTH:
            return f"the result would be longer than {MAX_SEQUENCE_LENGTH} items"
    return None


class _CountedLoop:
    """Iterates like the loop's iterable while charging every step to the render's budget."""

    __slots__ = ("_budget", "_items", "_source")

    def __init__(self, iterable: Any, budget: list[int]) -> None:
        self._source = iterable
        self._items = iter(iterable)
        self._budget = budget

    def __iter__(self) -> _CountedLoop:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        self._budget[0] -= 1
        if self._budget[0] < 0:
            raise SecurityError(f"loops ran more than {MAX_LOOP_ITERATIONS} iterations")
        return item

    def __len__(self) -> int:  # `loop.length` and `loop.revindex` ask for it
        return len(self._source)  # TypeError for a generator: Jinja then counts by itself


class _CountingCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` through the environment, so string growth by `~` is bounded too."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's name
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _DataFirstEnvironment(ImmutableSandboxedEnvironment):
    """`a.items` means the key "items" of a JSON object, not the dict method of that name.

    Workflow data is JSON, so a key always wins over a Python attribute of the container.
    The sandbox also bounds `*`, `**`, `+`, `~` and loop iterations, which Jinja's own
    sandbox lets run unbounded.
    """

    intercepted_binops = frozenset({"*", "**", "+"})
    code_generator_class = _CountingCodeGenerator

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        problem = _binop_problem(operator, left, right)
        if problem is not None:
            raise SecurityError(problem)
        return super().call_binop(context, operator, left, right)

    def bounded_concat(self, values: tuple[Any, ...]) -> str:
        parts = [str(value) for value in values]
        if sum(len(part) for part in parts) > MAX_SEQUENCE_LENGTH:
            raise SecurityError(f"the result of ~ would be longer than {MAX_SEQUENCE_LENGTH}")
        return "".join(parts)

    def count_loop(self, iterable: Any) -> Any:
        budget = _loop_budget.get()
        return iterable if budget is None else _CountedLoop(iterable, budget)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if isinstance(__obj, LoopContext) and args:  # `loop(children)` in a recursive loop
            args = (__self.count_loop(args[0]), *args[1:])
        return super().call(__context, __obj, *args, **kwargs)

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.EnvironmentAttribute("count_loop"), [loop.iter], [], None, None
            )
        return super()._generate(source, name, filename, defer_init)

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


def contains_template(value: Any) -> bool:
    """Is there a template string anywhere inside `value` (dicts and lists walked)?"""
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, Mapping):
        return any(contains_template(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_template(item) for item in value)
    return False


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


# --- the lookup fast path ----------------------------------------------------------------------
# Most templated fields are one variable path (`{{ trigger.v }}`, `{{ nodes.x.output[0] }}`).
# Such a field is answered by walking plain dicts and lists, without the sandbox, when every
# step is one the sandbox would answer the same way by plain indexing: a key present in a dict
# (`_DataFirstEnvironment.getattr`, and `getitem`'s first try `obj[key]`) or an int index in
# range of a list (`getitem`'s `obj[index]`). Anything else (a missing key, an attribute of a
# str or list, an unsafe name, a value that is not JSON) is left to Jinja, which raises or
# answers exactly as it always has: the fast path only ever returns what Jinja would return.

# Steps a lookup may take; a deeper path goes to Jinja, whose compiler recurses per step.
MAX_LOOKUP_STEPS = 64
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
# Names the compiler binds itself instead of reading the context (`self` is the template).
_SPECIAL_NAMES = frozenset({"self"})
_NOT_FOUND: Any = object()


@dataclass(frozen=True, slots=True)
class _Lookup:
    """`name` read from the context, then each key (str) or index (int) in turn."""

    name: str
    keys: tuple[str | int, ...]

    def find(self, context: dict[str, Any]) -> Any:
        """The value at the path, or _NOT_FOUND where Jinja must decide."""
        value = context.get(self.name, _NOT_FOUND)
        for key in self.keys:
            kind = type(value)
            if kind is dict:
                if key not in value:
                    return _NOT_FOUND
            elif kind is not list or type(key) is not int or not -len(value) <= key < len(value):
                return _NOT_FOUND
            value = value[key]
        return value if type(value) in _JSON_TYPES else _NOT_FOUND


def _constant_key(arg: nodes.Expr) -> str | int | None:
    """The key of `[arg]` when it is a str or int literal (`-1` parses as a negation)."""
    sign = 1
    if isinstance(arg, nodes.Neg):
        sign, arg = -1, arg.node
    if not isinstance(arg, nodes.Const):
        return None
    value = arg.value
    if type(value) is int:
        return sign * value
    return value if type(value) is str and sign == 1 else None


def _lookup_steps(expression: nodes.Expr) -> _Lookup | None:
    keys: list[str | int] = []
    while isinstance(expression, nodes.Getattr | nodes.Getitem):
        if isinstance(expression, nodes.Getattr):
            keys.append(expression.attr)
        elif (key := _constant_key(expression.arg)) is not None:
            keys.append(key)
        else:
            return None  # a slice, a computed key, a float or bool key
        expression = expression.node
    if not isinstance(expression, nodes.Name) or expression.name in _SPECIAL_NAMES:
        return None
    if len(keys) > MAX_LOOKUP_STEPS:
        return None
    return _Lookup(expression.name, tuple(reversed(keys)))


@lru_cache(maxsize=4096)
def _lookup(source: str) -> _Lookup | None:
    """The path of a field that is one `{{ name.key[0]… }}` and nothing else, or None.

    Parsed by Jinja's own parser, exactly as `compile_expression` parses it, so quoting,
    spacing and `a.0` mean what they mean to Jinja.
    """
    whole = _WHOLE_EXPRESSION.match(source)
    if whole is None:
        return None
    try:
        parser = Parser(_ENV, whole.group("expr"), state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            return None
    except Exception:  # a syntax error or too deep: Jinja reports it
        return None
    return _lookup_steps(expression)


def is_lookup(source: str) -> bool:
    """Is `source` one variable path and nothing else? Over JSON data its work is a few
    lookups, bounded by the path's length: it cannot loop, compute or allocate."""
    return _lookup(source) is not None


def _evaluate(source: str, context: Mapping[str, Any]) -> Any:
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
    pieces: list[str] = []
    size = 0
    for piece in _compile_template(source).generate(**context):
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise SecurityError(f"the template renders to more than {MAX_OUTPUT_CHARS} characters")
        pieces.append(piece)
    return "".join(pieces)


def _keyword_context(context: Mapping[str, Any]) -> TypeGuard[dict[str, Any]]:
    """Does Jinja take `context` as it is? It passes it as keyword arguments to
    `TemplateExpression.__call__(self, …)`: a key that is not a str, or is `self`, is a
    TypeError there, and the fast path leaves raising it to Jinja."""
    return type(context) is dict and "self" not in context and all(type(k) is str for k in context)


def _render_string(source: str, context: Mapping[str, Any], path: str) -> Any:
    lookup = _lookup(source)
    if lookup is not None and _keyword_context(context):
        value = lookup.find(context)
        if value is not _NOT_FOUND:
            return value
    return _render_with_jinja(source, context, path)


def _render_with_jinja(source: str, context: Mapping[str, Any], path: str) -> Any:
    token = _loop_budget.set([MAX_LOOP_ITERATIONS])
    try:
        return _evaluate(source, context)
    except UndefinedError as exc:
        raise TemplateRenderError(path, f"undefined value: {exc.message}") from exc
    except SecurityError as exc:
        raise TemplateRenderError(path, f"not allowed in a template: {exc}") from exc
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(path, f"template syntax error: {exc.message}") from exc
    except MemoryError:
        raise  # the sandbox process reports its memory limit; nothing here can recover
    except Exception as exc:  # a filter raised (bad JSON, bad date…): report, never crash
        raise TemplateRenderError(path, f"{type(exc).__name__}: {exc}") from exc
    finally:
        _loop_budget.reset(token)


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
