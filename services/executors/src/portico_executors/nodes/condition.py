"""condition: the first rule that matches picks the branch, else `default_branch`.

Rule values are rendered one by one so that, for `exists`/`not_exists`, a template that
references something undefined (`{{ nodes.x.output.missing }}`) means "does not exist"
instead of failing the node. For every other operator an undefined reference is an error.

Comparison semantics (documented for users in the node's reference):
- A number and a string that reads as a number compare as numbers ("10" eq 10 is true,
  "9" lt 10 is true): templates inside longer text always yield strings, and the editor's
  compare_to field is often typed as text.
- Booleans are never numbers here (true eq 1 is false).
- gt/gte/lt/lte need two numbers or two strings. Two strings that both read as numbers
  compare as numbers ("12" gt "9"); other strings by code point, which suits ISO-8601 dates.
  Anything else, or null, fails the node with a message naming both sides.
- eq between two strings is exact ("01" ne "1"): identifiers such as zip codes stay text.
- contains: substring for strings, membership (with the eq rules above) for lists, key for
  objects; null contains nothing.
- matches: a time-limited regex search of compare_to in the value (numbers and booleans as
  their text); all `matches` rules of a node share one time budget.
- exists: the value is defined and not null.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import regex

from portico_contracts.node_config import NodeConfig
from portico_contracts.nodes import ConditionConfig
from portico_contracts.templates import TemplateRenderError, render_value
from portico_executors.errors import NodeRunError
from portico_executors.nodes.base import Outcome, RunContext
from portico_executors.rendering import (
    is_undefined,
    render_config,
    template_failure,
    validate_config,
)

CONDITION_ERROR = "ConditionError"
_EXISTENCE = frozenset({"exists", "not_exists"})


class _Missing:
    """Stands for a rule value whose template referenced something undefined."""

    def __repr__(self) -> str:
        return "<undefined>"

    def __reduce__(self) -> str:
        # Rules are rendered in a sandbox worker: unpickled, this is the same MISSING again.
        return "MISSING"


MISSING: Any = _Missing()


def _describe(value: Any) -> str:
    if value is None or value is MISSING:
        return "null"
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "list"}.get(
        type(value), "object" if isinstance(value, Mapping) else type(value).__name__
    )
    text = repr(value)
    return f"{text[:60]}… ({kind})" if len(text) > 60 else f"{text} ({kind})"


def _as_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _numeric_pair(left: Any, right: Any) -> tuple[float | int, float | int] | None:
    """Both sides as numbers when at least one is a real number and the other reads as one."""
    is_num = [isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right)]
    if not any(is_num):
        return None
    a, b = _as_number(left), _as_number(right)
    return None if a is None or b is None else (a, b)


def equals(left: Any, right: Any) -> bool:
    pair = _numeric_pair(left, right)
    if pair is not None:
        return pair[0] == pair[1]
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def _order(left: Any, right: Any, operator: str) -> tuple[Any, Any]:
    pair = _numeric_pair(left, right)
    if pair is not None:
        return pair
    if isinstance(left, str) and isinstance(right, str):
        a, b = _as_number(left), _as_number(right)
        return (a, b) if a is not None and b is not None else (left, right)
    raise NodeRunError(
        f"cannot compare {_describe(left)} with {_describe(right)} using '{operator}': "
        "both sides must be numbers or both strings",
        type=CONDITION_ERROR,
    )


def contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return (item if isinstance(item, str) else _text(item)) in container
    if isinstance(container, list):
        return any(equals(element, item) for element in container)
    if isinstance(container, Mapping):
        return _text(item) in container
    raise NodeRunError(
        f"'contains' needs a string, list or object, got {_describe(container)}",
        type=CONDITION_ERROR,
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# Python's `re` cannot be stopped: a pattern such as `(a+)+$` (which a template may supply)
# would block the whole executor. The `regex` engine takes a time limit per search, and this
# is the budget of all `matches` rules of one node together: many slow rules in a row must
# not add up to seconds of a blocked event loop.
MATCH_TIMEOUT_S = 0.25
# When the node's rules started being evaluated (see `evaluate_rules`).
_match_deadline: ContextVar[float | None] = ContextVar("_match_deadline", default=None)


@lru_cache(maxsize=1024)
def _pattern(source: str) -> regex.Pattern[str]:
    try:
        return regex.compile(source)
    except regex.error as exc:
        raise NodeRunError(
            f"compare_to is not a valid regular expression: {exc}", type=CONDITION_ERROR
        ) from exc


def matches(value: Any, pattern: Any) -> bool:
    if not isinstance(pattern, str):
        raise NodeRunError(
            f"'matches' needs a regular expression string, got {_describe(pattern)}",
            type=CONDITION_ERROR,
        )
    if value is None or isinstance(value, list | Mapping):
        return False
    deadline = _match_deadline.get()
    left = MATCH_TIMEOUT_S if deadline is None else deadline - time.monotonic()
    try:
        if left <= 0:
            raise TimeoutError
        return _pattern(pattern).search(_text(value), timeout=left) is not None
    except TimeoutError as exc:
        raise NodeRunError(
            f"'matches' gave up after {MATCH_TIMEOUT_S}s: the pattern {pattern!r} backtracks "
            "too much on this value; simplify it",
            type=CONDITION_ERROR,
        ) from exc


def _ordered(check: Callable[[Any, Any], bool], name: str) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        a, b = _order(left, right, name)
        return check(a, b)

    return compare


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": equals,
    "ne": lambda a, b: not equals(a, b),
    "gt": _ordered(lambda a, b: a > b, "gt"),
    "gte": _ordered(lambda a, b: a >= b, "gte"),
    "lt": _ordered(lambda a, b: a < b, "lt"),
    "lte": _ordered(lambda a, b: a <= b, "lte"),
    "contains": contains,
    "not_contains": lambda a, b: not contains(a, b),
    "matches": matches,
    "exists": lambda a, _: a is not MISSING and a is not None,
    "not_exists": lambda a, _: a is MISSING or a is None,
}


def rule_matches(operator: str, value: Any, compare_to: Any) -> bool:
    if value is MISSING and operator not in _EXISTENCE:
        raise NodeRunError(f"'{operator}' needs a defined value", type=CONDITION_ERROR)
    return OPERATORS[operator](value, compare_to)


def evaluate_rules(config: ConditionConfig) -> tuple[str, int | None]:
    token = _match_deadline.set(time.monotonic() + MATCH_TIMEOUT_S)
    try:
        for index, rule in enumerate(config.rules):
            try:
                hit = rule_matches(rule.operator, rule.value, rule.compare_to)
            except NodeRunError as exc:
                exc.message = f"rules[{index}]: {exc.message}"
                exc.args = (exc.message,)
                raise
            if hit:
                return rule.branch, index
        return config.default_branch, None
    finally:
        _match_deadline.reset(token)


def _render_rule(rule: Any, index: int, context: Mapping[str, Any]) -> tuple[Any, Any]:
    """(rule for validation, rule to record): undefined `value` → MISSING / None."""
    if not isinstance(rule, Mapping):
        return rule, rule
    rendered: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    for key, raw in rule.items():
        path = f"rules[{index}].{key}"
        try:
            rendered[key] = recorded[key] = render_value(raw, context, path)
        except TemplateRenderError as exc:
            if key == "value" and rule.get("operator") in _EXISTENCE and is_undefined(exc):
                rendered[key], recorded[key] = MISSING, None
            else:
                raise template_failure(exc) from exc
    return rendered, recorded


def prepare_condition(
    model: type[NodeConfig], raw: dict[str, Any], context: Mapping[str, Any]
) -> tuple[Any, dict[str, Any]]:
    rules = raw.get("rules")
    if not isinstance(rules, list):
        rendered = render_config(model, raw, context)  # let validation explain what is wrong
        return validate_config(model, rendered), rendered
    rest = render_config(model, {k: v for k, v in raw.items() if k != "rules"}, context)
    pairs = [_render_rule(rule, index, context) for index, rule in enumerate(rules)]
    config = validate_config(model, {**rest, "rules": [p[0] for p in pairs]})
    return config, {**rest, "rules": [p[1] for p in pairs]}


async def run_condition(config: ConditionConfig, ctx: RunContext) -> Outcome:
    branch, index = evaluate_rules(config)
    return Outcome(output={"branch": branch, "matched_rule": index}, branch=branch)
