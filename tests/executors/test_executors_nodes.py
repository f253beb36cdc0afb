"""Pure unit tests of the node runners and config rendering (no broker, no network)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonata
import pytest

from portico_contracts.nodes import (
    ConditionConfig,
    HttpConfig,
    MergeConfig,
    TransformConfig,
    WaitConfig,
)
from portico_executors.config import Settings
from portico_executors.errors import Interrupted, NodeRunError
from portico_executors.nodes.base import RunContext
from portico_executors.nodes.condition import MISSING, equals, evaluate_rules, prepare_condition
from portico_executors.nodes.merge import run_merge
from portico_executors.nodes.transform import evaluate, run_transform
from portico_executors.nodes.wait import parse_until, run_wait, wait_deadline
from portico_executors.rendering import prepare_config
from portico_executors.sandbox import SandboxPool

from .support import make_ready

CONTEXT: dict[str, Any] = {
    "trigger": {"body": {"email": "ann@example.com", "n": 5, "tags": ["a", "b"]}},
    "nodes": {"lookup": {"output": {"body": {"plan": "pro", "seats": "12", "nothing": None}}}},
    "execution": {"id": "ex-1", "workflow_id": "wf-1", "started_at": "2030-01-02T03:04:05Z"},
    "input": {},
}


def ctx_for(
    node_type: str, config: dict[str, Any], sandbox: SandboxPool | None = None, **fields: Any
) -> RunContext:
    ready = make_ready(node_type, config, **fields)
    return RunContext(
        ready=ready,
        template_context=ready.template_context(),
        settings=Settings(),
        http=None,  # type: ignore[arg-type]  # pure runners never touch it
        shutdown=asyncio.Event(),
        sandbox=sandbox,  # type: ignore[arg-type]  # only transform needs it
    )


# --- rendering ------------------------------------------------------------------------------


def test_whole_expression_keeps_native_values() -> None:
    config, rendered = prepare_config(
        TransformConfig,
        {"mapping": {"tags": "{{ trigger.body.tags }}", "n": "{{ trigger.body.n }}"}},
        CONTEXT,
    )
    assert config.mapping == {"tags": ["a", "b"], "n": 5}
    assert rendered == {"mapping": {"tags": ["a", "b"], "n": 5}}


def test_mixed_text_renders_a_string() -> None:
    config, _ = prepare_config(
        TransformConfig, {"mapping": {"greeting": "n={{ trigger.body.n }}!"}}, CONTEXT
    )
    assert config.mapping == {"greeting": "n=5!"}


def test_undefined_reference_names_the_field() -> None:
    with pytest.raises(NodeRunError) as caught:
        prepare_config(HttpConfig, {"url": "https://x.test/{{ nodes.nope.output }}"}, CONTEXT)
    assert caught.value.type == "TemplateError"
    assert "'url'" in caught.value.message
    assert caught.value.retryable is False


def test_untemplated_fields_are_left_alone() -> None:
    expression = '"{{ not a template }}" & trigger.body.email'
    config, rendered = prepare_config(TransformConfig, {"expression": expression}, CONTEXT)
    assert config.expression == expression
    assert rendered["expression"] == expression


def test_validation_after_rendering_names_the_field() -> None:
    raw = {"url": "https://x.test", "timeout_s": "{{ trigger.body.n * -1 }}"}
    with pytest.raises(NodeRunError) as caught:
        prepare_config(HttpConfig, raw, CONTEXT)
    assert caught.value.type == "InvalidConfig"
    assert "timeout_s" in caught.value.message
    assert caught.value.details == {
        "errors": [{"field": "timeout_s", "message": "Input should be greater than 0"}]
    }


# --- condition ------------------------------------------------------------------------------


def _branch(rules: list[dict[str, Any]], default: str = "other") -> tuple[str, int | None]:
    config, _ = prepare_condition(
        ConditionConfig, {"rules": rules, "default_branch": default}, CONTEXT
    )
    return evaluate_rules(config)


@pytest.mark.parametrize(
    ("value", "operator", "compare_to", "expected"),
    [
        ("{{ nodes.lookup.output.body.plan }}", "eq", "pro", True),
        ("{{ nodes.lookup.output.body.plan }}", "ne", "pro", False),
        ("{{ nodes.lookup.output.body.seats }}", "eq", 12, True),  # numeric string vs number
        ("{{ nodes.lookup.output.body.seats }}", "gt", 9, True),
        ("{{ nodes.lookup.output.body.seats }}", "gt", "9", True),  # numeric strings: as numbers
        ("{{ nodes.lookup.output.body.seats }}", "eq", "12.0", False),  # two strings: exact
        ("2030-01-02", "gt", "2029-12-31", True),  # other strings: text order
        ("{{ trigger.body.n }}", "lt", 5.5, True),
        ("{{ trigger.body.n }}", "lte", 5, True),
        ("b", "gt", "a", True),
        ("{{ trigger.body.tags }}", "contains", "b", True),
        ("{{ trigger.body.tags }}", "not_contains", "z", True),
        ("{{ trigger.body.email }}", "contains", "@example.", True),
        ("{{ nodes.lookup.output.body }}", "contains", "plan", True),
        ("{{ trigger.body.email }}", "matches", r"^ann@.*\.com$", True),
        ("{{ trigger.body.n }}", "matches", "^5$", True),
        ("{{ nodes.lookup.output.body.plan }}", "exists", None, True),
        ("{{ nodes.lookup.output.body.nothing }}", "exists", None, False),
        ("{{ nodes.lookup.output.body.missing }}", "exists", None, False),
        ("{{ nodes.lookup.output.body.missing }}", "not_exists", None, True),
        ("{{ nodes.absent.output.deep.field }}", "not_exists", None, True),
        ("x {{ nodes.absent.output }}", "exists", None, False),
    ],
)
def test_operators(value: Any, operator: str, compare_to: Any, expected: bool) -> None:
    rule = {"value": value, "operator": operator, "compare_to": compare_to, "branch": "hit"}
    assert _branch([rule]) == (("hit", 0) if expected else ("other", None))


def test_first_matching_rule_wins() -> None:
    rules = [
        {"value": 1, "operator": "eq", "compare_to": 2, "branch": "one"},
        {"value": 1, "operator": "eq", "compare_to": 1, "branch": "two"},
        {"value": 1, "operator": "gte", "compare_to": 1, "branch": "three"},
    ]
    assert _branch(rules) == ("two", 1)


def test_booleans_are_not_numbers() -> None:
    assert not equals(True, 1)
    assert equals(True, True)
    assert equals(1, 1.0)
    assert equals("1.50", 1.5)
    assert not equals("abc", 0)


def test_incompatible_comparison_fails_clearly() -> None:
    rule = {"value": "a", "operator": "gt", "compare_to": 3, "branch": "hit"}
    with pytest.raises(NodeRunError) as caught:
        _branch([rule])
    assert caught.value.type == "ConditionError"
    assert caught.value.retryable is False
    assert caught.value.message.startswith("rules[0]: cannot compare 'a' (string) with 3 (number)")


def test_null_in_ordering_comparison_fails() -> None:
    rule = {"value": "{{ nodes.lookup.output.body.nothing }}", "operator": "lt", "compare_to": 1}
    with pytest.raises(NodeRunError, match="null"):
        _branch([{**rule, "branch": "hit"}])


def test_undefined_value_is_an_error_for_other_operators() -> None:
    rule = {"value": "{{ nodes.lookup.output.body.missing }}", "operator": "eq", "branch": "b"}
    with pytest.raises(NodeRunError) as caught:
        _branch([rule])
    assert caught.value.type == "TemplateError"
    assert "rules[0].value" in caught.value.message


def test_undefined_value_is_recorded_as_null() -> None:
    rule = {"value": "{{ nodes.x.output }}", "operator": "not_exists", "branch": "b"}
    config, rendered = prepare_condition(ConditionConfig, {"rules": [rule]}, CONTEXT)
    assert config.rules[0].value is MISSING
    assert rendered["rules"][0]["value"] is None


def test_bad_regex_after_rendering_fails() -> None:
    rule = {"value": "x", "operator": "matches", "compare_to": "{{ '(' }}", "branch": "b"}
    with pytest.raises(NodeRunError, match="regular expression"):
        _branch([rule])


def test_catastrophic_regex_gives_up_instead_of_blocking_the_executor() -> None:
    import time

    rule = {"value": "a" * 40 + "!", "operator": "matches", "compare_to": "(a|aa)+$", "branch": "b"}
    started = time.monotonic()
    with pytest.raises(NodeRunError, match="backtracks"):
        _branch([rule])
    assert time.monotonic() - started < 5


def test_slow_regex_rules_share_one_time_budget() -> None:
    # Each search takes about a tenth of a second and stays under the limit on its own; twenty
    # in a row would hold the event loop for two seconds.
    slow = {"value": "a" * 25 + "!", "operator": "matches", "compare_to": "(a|aa)+$"}
    rules = [{**slow, "branch": f"b{i}"} for i in range(20)]
    started = time.monotonic()
    with pytest.raises(NodeRunError, match="backtracks"):
        _branch(rules)
    # One 0.25 s budget, with room for a loaded machine; each rule on its own would be 2 s.
    assert time.monotonic() - started < 1.5


# --- transform ------------------------------------------------------------------------------


def test_jsonata_over_the_template_context() -> None:
    result = evaluate(
        '{"who": trigger.body.email, "n": $count(trigger.body.tags), "ex": execution.id,'
        ' "year": $substring(execution.started_at, 0, 4)}',
        CONTEXT,
    )
    assert result == {"who": "ann@example.com", "n": 2, "ex": "ex-1", "year": "2030"}


def test_jsonata_sequences_become_plain_lists() -> None:
    result = evaluate("items.v", {"items": [{"v": 1}, {"v": 2.0}]})
    assert type(result) is list
    assert result == [1, 2]


def test_jsonata_now_is_current_even_with_cached_expressions() -> None:
    evaluate("$millis()", {})  # compile and cache
    jsonata.Jsonata("1 + 1")  # a later compile used to hijack $now()'s clock
    before = datetime.now(UTC).timestamp() * 1000
    assert evaluate("$millis()", {}) >= before - 5


def test_jsonata_runtime_errors_fail_without_retry() -> None:
    with pytest.raises(NodeRunError) as caught:
        evaluate("trigger.body.email + 1", CONTEXT)
    assert caught.value.type == "JsonataError"
    assert caught.value.retryable is False


def test_jsonata_function_results_are_refused() -> None:
    with pytest.raises(NodeRunError, match="not JSON data"):
        evaluate("function($x) { $x }", {})


async def test_runaway_expression_is_stopped(sandbox: SandboxPool) -> None:
    ctx = ctx_for("transform", {}, sandbox)
    ctx.settings = Settings(jsonata_timeout_ms=200)
    config = TransformConfig(expression="($f := function($n) { $f($n + 1) }; $f(0))")
    with pytest.raises(NodeRunError) as caught:
        await run_transform(config, ctx)
    assert caught.value.type == "JsonataError"
    assert "PORTICO_JSONATA_TIMEOUT_MS" in caught.value.message


async def test_node_timeout_bounds_jsonata_as_a_retryable_timeout(sandbox: SandboxPool) -> None:
    ctx = ctx_for("transform", {}, sandbox)
    ctx.time_budget_s = 0.1
    config = TransformConfig(expression="($f := function($n) { $f($n + 1) }; $f(0))")
    with pytest.raises(NodeRunError) as caught:
        await run_transform(config, ctx)
    assert (caught.value.type, caught.value.retryable) == ("Timeout", True)


async def test_mapping_output_is_the_rendered_mapping() -> None:
    outcome = await run_transform(TransformConfig(mapping={"a": [1]}), ctx_for("transform", {}))
    assert outcome.output == {"a": [1]}


# --- merge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("by_node", {"a": {"x": 1}, "b": [2]}), ("list", [{"x": 1}, [2]])],
)
async def test_merge_modes(mode: str, expected: Any) -> None:
    ctx = ctx_for("merge", {}, inputs={"b": [2], "a": {"x": 1}})
    outcome = await run_merge(MergeConfig.model_validate({"mode": mode}), ctx)
    assert outcome.output == expected


# --- wait -----------------------------------------------------------------------------------


def test_deadline_hangs_off_dispatch_time() -> None:
    dispatched = datetime(2030, 1, 1, tzinfo=UTC)
    assert wait_deadline(WaitConfig(seconds=90), dispatched) == dispatched + timedelta(seconds=90)
    assert wait_deadline(WaitConfig(until="2030-02-01T00:00:00Z"), dispatched) == datetime(
        2030, 2, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-31T09:00:00Z", datetime(2030, 1, 31, 9, tzinfo=UTC)),
        ("2030-01-31T09:00:00", datetime(2030, 1, 31, 9, tzinfo=UTC)),  # naive means UTC
        ("2030-01-31T10:00:00+01:00", datetime(2030, 1, 31, 9, tzinfo=UTC)),
        ("2030-01-31", datetime(2030, 1, 31, tzinfo=UTC)),
    ],
)
def test_parse_until(text: str, expected: datetime) -> None:
    assert parse_until(text) == expected


def test_parse_until_refuses_garbage() -> None:
    with pytest.raises(NodeRunError, match="'until'"):
        parse_until("next tuesday")


async def test_wait_sleeps_inline_only_for_the_remaining_time() -> None:
    dispatched = datetime.now(UTC) - timedelta(seconds=10)
    ctx = ctx_for("wait", {}, dispatched_at=dispatched)
    started = asyncio.get_running_loop().time()
    outcome = await run_wait(WaitConfig(seconds=10.2), ctx)
    elapsed = asyncio.get_running_loop().time() - started
    assert 0.1 < elapsed < 0.6
    assert outcome.status == "succeeded"
    assert outcome.output == {"waited_until": (dispatched + timedelta(seconds=10.2)).isoformat()}


async def test_long_wait_suspends_and_succeeds_when_due() -> None:
    dispatched = datetime.now(UTC)
    outcome = await run_wait(
        WaitConfig(seconds=3600), ctx_for("wait", {}, dispatched_at=dispatched)
    )
    assert (outcome.status, outcome.resume_at) == ("suspended", dispatched + timedelta(hours=1))
    past = datetime.now(UTC) - timedelta(hours=2)
    again = await run_wait(WaitConfig(seconds=3600), ctx_for("wait", {}, dispatched_at=past))
    assert again.status == "succeeded"


async def test_shutdown_interrupts_an_inline_wait() -> None:
    ctx = ctx_for("wait", {}, dispatched_at=datetime.now(UTC))
    task = asyncio.create_task(run_wait(WaitConfig(seconds=30), ctx))
    await asyncio.sleep(0.05)
    ctx.shutdown.set()
    with pytest.raises(Interrupted):
        await asyncio.wait_for(task, 1)
