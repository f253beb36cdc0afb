"""Templates: sandboxed, strict, native values for whole expressions, our filters."""

from __future__ import annotations

import time

import pytest

from portico_contracts.templates import (
    TemplateRenderError,
    check_template,
    contains_template,
    render_value,
)

CONTEXT = {
    "trigger": {"items": [1, 2], "name": "ada", "raw": '{"k": 5}'},
    "nodes": {"fetch": {"output": {"status": 200}}},
    "execution": {"id": "e1", "started_at": "2026-11-22T10:00:00+00:00"},
}


def test_whole_expression_keeps_native_type() -> None:
    assert render_value("{{ trigger.items }}", CONTEXT) == [1, 2]
    assert render_value(" {{ nodes.fetch.output.status }} ", CONTEXT) == 200


def test_mixed_text_renders_a_string() -> None:
    assert render_value("n={{ trigger.items | length }}", CONTEXT) == "n=2"


def test_nested_structures_render_and_plain_strings_pass_through() -> None:
    value = {"a": ["{{ trigger.name | upper }}", "plain"], "b": 3}
    assert render_value(value, CONTEXT) == {"a": ["ADA", "plain"], "b": 3}


def test_filters() -> None:
    assert render_value("{{ trigger.raw | fromjson }}", CONTEXT) == {"k": 5}
    assert render_value("{{ trigger.items | tojson }}", CONTEXT) == "[1, 2]"
    assert render_value("{{ execution.started_at | date('%Y') }}", CONTEXT) == "2026"
    assert render_value("{{ trigger.missing | default('x') }}", CONTEXT) == "x"


@pytest.mark.parametrize("source", ["{{ nope }}", "{{ trigger.missing }}", "a {{ nodes.x.y }}"])
def test_undefined_is_an_error_naming_the_field(source: str) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render_value({"url": source}, CONTEXT)
    assert caught.value.path == "url"


@pytest.mark.parametrize(
    "source", ["{{ trigger.__class__ }}", "{{ trigger.items.append(3) }}", "{{ range(10) }}"]
)
def test_sandbox_refuses_unsafe_access(source: str) -> None:
    with pytest.raises(TemplateRenderError):
        render_value(source, CONTEXT)


def test_check_template_reports_syntax_errors() -> None:
    assert check_template("{{ a.b }}") is None
    assert check_template("no template") is None
    reason = check_template("{% if x %}")
    assert reason is not None
    assert "syntax" in reason


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}",
        "x {{ " + "[" * 1000 + "]" * 1000 + " }}",
        "{% if 1 %}" * 1000 + "{% endif %}" * 1000,
    ],
)
def test_too_deeply_nested_templates_are_reported_not_raised(source: str) -> None:
    """Jinja parses these, but they nest deeper than Python compiles: a problem, not a crash."""
    reason = check_template(source)
    assert reason is not None
    assert "nested too deeply" in reason
    with pytest.raises(TemplateRenderError):
        render_value(source, CONTEXT)


@pytest.mark.parametrize(
    "source", ['{{ "a" * 300000000 }}', "{{ [1] * 10000000 }}", "{{ 9 ** 9999999 }}"]
)
def test_arithmetic_that_would_exhaust_the_executor_is_refused(source: str) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render_value(source, CONTEXT)
    assert "not allowed" in str(caught.value)


def test_small_arithmetic_still_works() -> None:
    assert render_value('{{ "ab" * 2 }}', CONTEXT) == "abab"
    assert render_value("{{ 2 ** 10 }}", CONTEXT) == 1024
    assert render_value("x{{ 3 * 4 }}", CONTEXT) == "x12"


def test_filter_generators_become_lists() -> None:
    assert render_value("{{ trigger.items | map('string') }}", CONTEXT) == ["1", "2"]


BOMB_CONTEXT = {
    "trigger": {"items": list(range(1000)), "pair": [1, 2], "text": "x" * 100_000},
    "nodes": {},
}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ (9**999)**300 }}", "more than 4096 bits"),
        ("{{ 2 ** (9**99) }}", "more than 4096 bits"),
        ("{{ (9**999) * (9**999) }}", "more than 4096 bits"),
        (
            "{% for a in trigger.items %}{% for b in trigger.items %}.{% endfor %}{% endfor %}",
            "more than 100000 iterations",
        ),
        (
            "{% for x in trigger.pair recursive %}{% if loop.depth < 17 %}"
            "{{ loop(trigger.pair) }}{% endif %}{% endfor %}",
            "more than 100000 iterations",
        ),
        ("{{ ('x' * 999999) ~ ('x' * 999999) }}", "longer than 1000000"),
        ("{{ ('x' * 999999) + ('x' * 999999) }}", "longer than 1000000"),
        ("{{ ([1] * 999999) + ([1] * 999999) }}", "longer than 1000000"),
        ("{% for i in trigger.items %}{{ trigger.text }}{% endfor %}", "more than 8388608 char"),
    ],
)
def test_bombs_are_refused_quickly_with_the_reason(source: str, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRenderError) as caught:
        render_value({"body": source}, BOMB_CONTEXT)
    assert time.monotonic() - started < 5
    assert caught.value.path == "body"
    assert "not allowed in a template" in caught.value.message
    assert reason in caught.value.message


def test_what_the_guards_allow_still_renders() -> None:
    assert render_value("{{ 2 ** 4000 }}", CONTEXT) == 2**4000
    assert render_value("{{ -3 * (2 ** 100) }}", CONTEXT) == -3 * 2**100
    assert render_value("{{ 'a' ~ 1 ~ 'b' }}", CONTEXT) == "a1b"
    assert render_value("{{ 'ab' + 'cd' }}", CONTEXT) == "abcd"
    assert render_value("{{ [1] + [2] }}", CONTEXT) == [1, 2]
    loops = "{% for i in trigger.items %}{{ loop.index }}/{{ loop.length }} {% endfor %}"
    assert render_value(loops, CONTEXT) == "1/2 2/2 "
    nested = (
        "{% for x in [[1, [2]], [3]] recursive %}{{ loop(x) if x is iterable else x }}{% endfor %}"
    )
    assert render_value(nested, CONTEXT) == "123"


def test_the_loop_budget_is_per_template() -> None:
    # 1,000 x 90 iterations each: under the limit one at a time, as often as wanted.
    source = "{% for a in trigger.items %}{% for b in trigger.items[:90] %}{% endfor %}{% endfor %}"
    for _ in range(3):
        assert render_value(source, BOMB_CONTEXT) == ""


def test_contains_template() -> None:
    assert contains_template({"a": ["x", {"b": "{{ y }}"}]})
    assert contains_template("{% if x %}{% endif %}")
    assert not contains_template({"a": ["x", {"b": 1}], "c": None})
