"""The lookup fast path (`{{ a.b[0] }}` answered without Jinja) against Jinja's sandbox.

Every case renders a field twice, once through `render_value` (fast path first) and once
through the sandbox alone (`_render_with_jinja`, what `render_value` did before the fast
path), and wants the same outcome: the very same object, or the same error type, message,
field and cause. The generated contexts hold JSON, values that are not JSON (tuples, a
Mapping that is not a dict, a str subclass, sets), keys that are Python attribute names of
dicts, lists and str (`items`, `pop`, `upper`, `__class__`), indexes in and out of range, and
names the compiler treats specially (`self`).
"""

from __future__ import annotations

import json
import re
from collections import UserDict
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portico_contracts.templates import (
    TemplateRenderError,
    _compile_expression,
    _compile_template,
    _render_with_jinja,
    is_lookup,
    render_value,
)

# Keys that are data in one container and a Python attribute (safe or unsafe) in another.
KEYS = [
    "v", "a", "b", "items", "keys", "get", "pop", "update", "append", "count", "upper",
    "format", "__class__", "__len__", "mro", "self", "result", "loop", "0", "1", "with space",
]  # fmt: skip
NAMES = ["trigger", "nodes", "execution", "input", "a", "self", "result", "loop", "missing"]
IDENTIFIER_KEYS = [key for key in KEYS if key.isidentifier()]


class Text(str):
    """A str that is not exactly a str: the fast path leaves it to Jinja."""


class ReadOnly(Mapping[str, Any]):
    """A Mapping that is not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=20,
)
odd_values = st.recursive(
    st.one_of(scalars, st.builds(Text, st.text(max_size=3)), st.frozensets(st.integers(0, 3))),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3).map(ReadOnly),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3).map(UserDict),
        st.dictionaries(st.integers(-2, 2), inner, max_size=3),  # int keys: `a[0]` on a dict
    ),
    max_leaves=15,
)


@st.composite
def steps(draw: st.DrawFn) -> str:
    """One `.key`, `.0`, `[0]`, `[-1]`, `['key']` or `["key"]` step, spaced at random."""
    space = draw(st.sampled_from(["", " "]))
    kind = draw(st.sampled_from(["attr", "dot_index", "index", "quoted"]))
    if kind == "attr":
        return f"{space}.{draw(st.sampled_from(IDENTIFIER_KEYS))}"
    if kind == "dot_index":
        return f".{draw(st.integers(0, 4))}"
    if kind == "index":
        return f"[{space}{draw(st.integers(-4, 4))}{space}]"
    quote = draw(st.sampled_from(["'", '"']))
    return f"[{space}{quote}{draw(st.sampled_from(KEYS))}{quote}{space}]"


@st.composite
def lookups(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(NAMES))
    path = name + "".join(draw(st.lists(steps(), max_size=4)))
    outer = draw(st.sampled_from(["", " ", "\n"]))
    inner = draw(st.sampled_from(["", " ", "  "]))
    source = f"{outer}{{{{{inner}{path}{inner}}}}}{outer}"
    assert is_lookup(source) == (name != "self")  # `self` is the template, not the context
    return source


def contexts(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(NAMES), values, max_size=len(NAMES))


def outcome(render: Any, source: str, context: Any) -> tuple[Any, ...]:
    try:
        value = render(source, context, "field")
    except TemplateRenderError as exc:
        cause = exc.__cause__
        return ("error", exc.path, exc.message, type(cause), str(cause))
    return ("value", value)


def _without_addresses(found: tuple[Any, ...]) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", repr(found))


def assert_same(source: str, context: Any) -> None:
    fast = outcome(render_value, source, context)
    sandbox = outcome(_render_with_jinja, source, context)
    assert fast[0] == sandbox[0], (source, fast, sandbox)
    if fast[0] == "error":
        assert fast == sandbox
        return
    # The very object the sandbox returns (no copy, no conversion), or, for one Jinja makes
    # afresh on each render (`self`, a bound method, the sandbox's wrapped `str.format`), one
    # of the same type and value.
    same = fast[1] is sandbox[1] or (
        type(fast[1]) is type(sandbox[1])
        and (fast == sandbox or _without_addresses(fast) == _without_addresses(sandbox))
    )
    assert same, (source, fast, sandbox)


FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(source=lookups(), context=contexts(json_values))
def test_lookups_over_json_match_the_sandbox(source: str, context: dict[str, Any]) -> None:
    assert_same(source, context)


@FAST
@given(source=lookups(), context=contexts(odd_values))
def test_lookups_over_other_values_match_the_sandbox(source: str, context: dict[str, Any]) -> None:
    assert_same(source, context)


@FAST
@given(
    source=lookups(),
    context=st.one_of(
        contexts(json_values).map(ReadOnly),
        contexts(json_values).map(lambda c: {**c, 1: "not a keyword"}),
    ),
)
def test_contexts_that_are_not_plain_dicts_match_the_sandbox(source: str, context: Any) -> None:
    assert_same(source, context)


@st.composite
def paths_into(draw: st.DrawFn, data: Any) -> str:
    """A path that mostly follows `data`'s own keys and indexes, written in any syntax."""
    path = ""
    for _ in range(draw(st.integers(0, 5))):
        if isinstance(data, dict) and data and draw(st.integers(0, 9)):
            key: str | int = draw(st.sampled_from(sorted(data)))
        elif isinstance(data, list) and data and draw(st.integers(0, 9)):
            key = draw(st.integers(-len(data), len(data) - 1))
        else:
            key = draw(st.sampled_from(KEYS) | st.integers(-3, 3))
        dotted = key.isidentifier() if isinstance(key, str) else key >= 0  # `.name`, `.0`
        if dotted and draw(st.booleans()):
            path += f".{key}"
        else:
            path += f"[{json.dumps(key)}]"
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            data = None
    return f"{{{{ trigger{path} }}}}"


@FAST
@given(data=st.data(), trigger=json_values)
def test_paths_that_follow_the_data_find_what_the_sandbox_finds(
    data: st.DataObject, trigger: Any
) -> None:
    source = data.draw(paths_into(trigger))
    assert_same(source, {"trigger": trigger, "nodes": {}})


@pytest.mark.parametrize(
    "source",
    [
        "{{ trigger.v }}",
        " {{ nodes.fetch.output.items[0] }} ",
        "{{ nodes['my node'].output.0 }}",
        '{{ input["a"][-1] }}',
        "{{ input.a.1[0] }}",
        "{{trigger}}",
    ],
)
def test_what_counts_as_a_lookup(source: str) -> None:
    assert is_lookup(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ trigger.v | upper }}",
        "{{ trigger.v }} and more",
        "{{ a }}{{ b }}",
        "{{ self }}",
        "{{ true }}",
        "{{ 'text' }}",
        "{{ a[b] }}",
        "{{ a[1.0] }}",
        "{{ a[true] }}",
        "{{ a[1:2] }}",
        "{{ a.b() }}",
        "{{- a -}}",
        "{% if a %}{{ a }}{% endif %}",
        "{{ a." + ".".join(["b"] * 65) + " }}",  # deeper than MAX_LOOKUP_STEPS
        "{{ a. }}",
        "plain",
    ],
)
def test_what_does_not(source: str) -> None:
    assert not is_lookup(source)


def test_a_lookup_and_a_plain_string_compile_nothing() -> None:
    expressions, templates = _compile_expression.cache_info(), _compile_template.cache_info()
    context = {"trigger": {"fresh_key_for_this_test": [10, 20]}}
    assert render_value("{{ trigger.fresh_key_for_this_test[1] }}", context) == 20
    assert render_value("no braces here", context) == "no braces here"
    assert _compile_expression.cache_info().misses == expressions.misses
    assert _compile_template.cache_info().misses == templates.misses


@pytest.mark.parametrize(
    ("source", "cause", "message"),
    [
        ("{{ nope }}", "UndefinedError", "undefined value: 'nope' is undefined"),
        (
            "{{ trigger.missing }}",
            "UndefinedError",
            "undefined value: 'dict object' has no attribute 'missing'",
        ),
        ("{{ trigger.v[5] }}", "UndefinedError", "undefined value: list object has no element 5"),
        ("{{ trigger.__class__ }}", "SecurityError", "not allowed in a template: "),
        ("{{ trigger.v.append }}", "SecurityError", "not allowed in a template: "),
    ],
)
def test_failures_keep_their_type_and_message(source: str, cause: str, message: str) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render_value({"url": source}, {"trigger": {"v": [1]}})
    assert caught.value.path == "url"
    assert type(caught.value.__cause__).__name__ == cause
    assert caught.value.message.startswith(message)


def test_data_keys_win_over_attributes_as_in_the_sandbox() -> None:
    context = {"trigger": {"items": [1], "__class__": "data", "pop": {"0": "z"}}}
    assert render_value("{{ trigger.items }}", context) is context["trigger"]["items"]
    assert render_value("{{ trigger.__class__ }}", context) == "data"
    assert render_value("{{ trigger.pop['0'] }}", context) == "z"
