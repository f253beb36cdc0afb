"""Structured answers: parse a model's text as JSON, validate it against a JSON Schema, and
give the model one more try, shown its previous answer and what was wrong with it.

The provider is asked for JSON natively where it can (see each adapter); models still wrap
JSON in a ```json fence now and then, which is tolerated. The second call is not streamed to
live viewers: they saw the first answer grow, and the node's output has the one that counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from portico_contracts.ai import TokenUsage
from portico_executors.ai.protocol import ChatProvider, ChatReply, ChatRequest, TextSink, Turn

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n(?P<body>.*?)```", re.DOTALL)
PROBLEM_CHARS = 1_000


def parse_json_text(text: str) -> Any:
    """The JSON value in a model's answer: the whole text, or the first fenced block.
    ValueError says why it is not JSON."""
    stripped = text.strip()
    fenced = _FENCE.search(stripped)
    if fenced is not None and not stripped.startswith(("{", "[")):
        stripped = fenced.group("body").strip()
    if not stripped:
        raise ValueError("the answer is empty, not JSON")
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not valid JSON: {exc}") from None


def schema_problem(schema: Mapping[str, Any], value: Any) -> str | None:
    """What is wrong with `value` against `schema` (the most relevant error), or None."""
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return None
    where = "".join(f"[{part!r}]" for part in error.absolute_path) or "(root)"
    return f"at {where}: {error.message}"[:PROBLEM_CHARS]


def answer_problem(text: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """(parsed value, None) for a good answer, (None or the value, problem) otherwise."""
    try:
        value = parse_json_text(text)
    except ValueError as exc:
        return None, str(exc)[:PROBLEM_CHARS]
    return value, schema_problem(schema, value)


def correction(problem: str) -> str:
    return (
        f"Your answer does not satisfy the required JSON Schema: {problem}\n"
        "Answer again with only the corrected JSON value."
    )


@dataclass(frozen=True, slots=True)
class StructuredReply:
    reply: ChatReply  # the call whose answer counts (the last one)
    value: Any
    usage: TokenUsage  # summed over every call made


class SchemaMismatch(Exception):  # noqa: N818 - named like the node error it becomes
    """Both answers failed the schema; `replies` are the calls made (their usage is spent)."""

    def __init__(self, problem: str, replies: list[ChatReply]) -> None:
        super().__init__(problem)
        self.problem = problem
        self.replies = replies

    @property
    def usage(self) -> TokenUsage:
        return sum((reply.usage for reply in self.replies), TokenUsage())


async def complete_structured(
    provider: ChatProvider, request: ChatRequest, on_text: TextSink | None = None
) -> StructuredReply:
    """Call, check against `request.json_schema`, and retry once with the problem fed back."""
    schema = request.json_schema
    assert schema is not None, "complete_structured needs a request with a json_schema"
    first = await provider.complete(request, on_text)
    value, problem = answer_problem(first.text, schema)
    if problem is None:
        return StructuredReply(first, value, first.usage)
    # Providers refuse an empty assistant turn; show the model that it said nothing.
    previous = Turn("assistant", first.text or "(empty answer)")
    retry = request.followed_by(previous, Turn("user", correction(problem)))
    second = await provider.complete(retry)
    value, problem = answer_problem(second.text, schema)
    if problem is not None:
        raise SchemaMismatch(problem, [first, second])
    return StructuredReply(second, value, first.usage + second.usage)
