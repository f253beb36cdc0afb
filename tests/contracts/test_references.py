"""What a node's templates and expressions read, so node.ready carries only that.

Two kinds of test: exact answers for the forms workflows use (so the analysis stays precise
enough to bound node.ready), and soundness — every template or expression gives the same
result against the context trimmed to its references as against the full one (so a trimmed
node.ready can never break a workflow).
"""

from __future__ import annotations

from typing import Any

import jsonata
import pytest

from portico_contracts import references as refs_module
from portico_contracts.graph import Node, WorkflowGraph
from portico_contracts.nodes import NODE_TYPES
from portico_contracts.references import (
    EVERYTHING,
    NOTHING,
    References,
    graph_references,
    jsonata_references,
    node_references,
    template_references,
    value_references,
)
from portico_contracts.templates import render_value


def refs(
    *nodes: str, all_nodes: bool = False, input: bool = False, trigger: bool = False
) -> References:
    return References(frozenset(nodes), all_nodes=all_nodes, input=input, trigger=trigger)


# --- Jinja: exact answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ nodes.fetch.output.body }}", refs("fetch")),
        ("{{ nodes['my-node'].output }}", refs("my-node")),
        ('{{ nodes["fetch"]["output"] }}', refs("fetch")),
        (
            "Hi {{ trigger.name }}, {{ nodes.a.output }} and {{ nodes.b.output }}",
            refs("a", "b", trigger=True),
        ),
        ("{{ input.fetch.status }}", refs(input=True)),
        ("{{ input | tojson }}", refs(input=True)),
        ("{{ nodes.a.output | tojson | length }}", refs("a")),
        ("{{ nodes.a.output.items | map(attribute='id') | list }}", refs("a")),
        ("{{ nodes.a.output.x | default(nodes.b.output.y) }}", refs("a", "b")),
        ("{{ nodes.a is defined }}", refs("a")),
        ("{% set n = nodes.a.output %}{{ n.items }}", refs("a")),
        ("{% for item in nodes.a.output.rows %}{{ item.id }}{% endfor %}", refs("a")),
        (
            "{% if trigger.vip %}{{ nodes.a.output }}{% else %}{{ nodes.b.output }}{% endif %}",
            refs("a", "b", trigger=True),
        ),
        (
            "{% for x in trigger.items %}{% for y in nodes.a.output %}{{ x }}{{ y }}{% endfor %}"
            "{% endfor %}",
            refs("a", trigger=True),
        ),
        ("{{ execution.id }}", NOTHING),
        ("{# {{ nodes.a }} is a comment #}", NOTHING),
        ("{% raw %}{{ nodes.a }}{% endraw %}", NOTHING),
        ("{{ 1 + 2 }}", NOTHING),
    ],
)
def test_jinja_static_references(source: str, expected: References) -> None:
    assert template_references(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{{ nodes }}",
        "{{ nodes | tojson }}",
        "{{ nodes[trigger.which].output }}",
        "{{ nodes['a' ~ 'b'] }}",
        "{{ nodes[0] }}",
        "{% for k in nodes %}{{ k }}{% endfor %}",
        "{% for k, v in nodes.items() %}{{ k }}{% endfor %}",
        "{{ nodes.values() | list }}",
        "{{ nodes.get('a') }}",
        "{{ nodes['keys']() }}",
        "{% set all = nodes %}{{ all.a }}",
        "{% with n = nodes %}{{ n.a }}{% endwith %}",
        "{{ (nodes if trigger.x else {}).a }}",
        "{{ 'a' in nodes }}",
        "{{ nodes | attr('a') }}",
        "{{ nodes | dictsort | first }}",
        "{% macro m(n) %}{{ n.a }}{% endmacro %}{{ m(nodes) }}",
        "{% macro m(n=nodes) %}{{ n.a }}{% endmacro %}{{ m() }}",
        "{% set ns = namespace(n=nodes) %}{{ ns.n.a }}",
    ],
)
def test_jinja_dynamic_access_reads_every_node(source: str) -> None:
    assert template_references(source).all_nodes


def test_jinja_that_does_not_parse_reads_everything() -> None:
    assert template_references("{{ nodes.a ") == EVERYTHING
    assert template_references("{% for x in %}") == EVERYTHING


def test_plain_strings_are_not_templates() -> None:
    assert value_references("nodes.a and trigger and input") == NOTHING


def test_templates_in_nested_dicts_and_lists_are_all_found() -> None:
    value = {
        "plain": "x",
        "list": ["{{ nodes.a.output }}", 3, None, {"deep": ["{{ trigger.k }}", "{{ input.z }}"]}],
        "{{ nodes.key_is_never_rendered }}": "{{ nodes['b'] }}",
    }
    assert value_references(value) == refs("a", "b", trigger=True, input=True)


def test_template_answers_are_cached() -> None:
    source = "{{ nodes.cached.output }}"
    assert template_references(source) is template_references(source)


# --- JSONata: exact answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("nodes.fetch.output.body", refs("fetch")),
        ("nodes.`my-node`.output", refs("my-node")),
        ('nodes."quoted".output', refs("quoted")),
        ("$.nodes.a.output", refs("a")),
        ("$$.nodes.a.output", refs("a")),
        (
            '{"a": nodes.a.output[0], "t": trigger.name, "i": input.b}',
            refs("a", trigger=True, input=True),
        ),
        ("nodes.a.output.items[price > 3].name", refs("a")),
        ("nodes.a.output.items[$ > 3]", refs("a")),
        ("nodes.a.output.items[trigger > 3]", refs("a")),  # trigger is a field of each item
        ("nodes.a.output.items[$$.trigger.min < price]", refs("a", trigger=True)),
        ("nodes.a.output.items^(>price).name", refs("a")),
        ("nodes.a.output.items{category: $sum(price)}", refs("a")),
        ("$sum(nodes.a.output.items.price) + $count(nodes.b.output)", refs("a", "b")),
        (
            "$map(nodes.a.output.items, function($v) { $v.id & trigger.suffix })",
            refs("a", trigger=True),
        ),
        ("nodes.a.output ~> $string()", refs("a")),
        ("nodes.a.output ~> $keys()", refs("a")),
        ("$string(nodes.a.output)", refs("a")),
        ("$lookup(nodes.a.output, 'k')", refs("a")),
        ("($x := nodes.a.output; $x.items)", refs("a")),
        ("input.a ? trigger.b : nodes.c.output", refs("c", trigger=True, input=True)),
        ("nodes.a.output.(b & c)", refs("a")),
        ("nodes.a.output.*", refs("a")),
        ("nodes.a.output.**.id", refs("a")),
        ("nodes.a@$v.b", refs("a", "b")),  # `@` evaluates b against nodes again
        ("trigger@$t.nodes.b.output", refs("b", trigger=True)),
        ("$now() & $random()", NOTHING),
        ("execution.id", NOTHING),
        ("3 * 4", NOTHING),
    ],
)
def test_jsonata_static_references(expression: str, expected: References) -> None:
    assert jsonata_references(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "nodes",
        "nodes.*",
        "nodes.**",
        "nodes[]",
        'nodes["a"]',  # a filter with nodes as its context, not a key
        "nodes[a.output.ok]",
        "nodes.$keys()",
        "$keys(nodes)",
        "$lookup(nodes, trigger.which)",
        "$each(nodes, function($v, $k) { $k })",
        "nodes.(a)",
        "($n := nodes; $n.a)",
        "nodes@$n.trigger",
        "nodes{`k`: 1}",
        "(function($n) { $n.a })(nodes)",
    ],
)
def test_jsonata_dynamic_node_access_reads_every_node(expression: str) -> None:
    assert jsonata_references(expression).all_nodes


@pytest.mark.parametrize(
    "expression",
    [
        "$",
        "$$",
        "$string()",
        "$keys()",
        "$spread()",
        "$lookup('nodes')",
        "'nodes' ~> $lookup()",
        "$sift(function($v) { true })",
        "$each(function($v, $k) { $v })",
        "$lookup($$, 'nodes')",
        "$lookup($, 'nodes').a",
        "$map(['nodes'], $lookup)",
        "*.a",
        "**.output",
        "trigger.%.nodes",
        "$eval('nodes.a')",
        "(function($a)<x-:s>{ $string($a) })()",
        "$ ~> |nodes.a|{'x': 1}|",
        "{'all': $}",
    ],
)
def test_jsonata_root_access_reads_everything(expression: str) -> None:
    assert jsonata_references(expression) == EVERYTHING


def test_jsonata_that_does_not_parse_reads_everything() -> None:
    assert jsonata_references("nodes.a.(") == EVERYTHING


# --- soundness: a trimmed context gives the same result ----------------------------------------

FULL_CONTEXT: dict[str, Any] = {
    "trigger": {"name": "Ada", "which": "b", "items": [1, 2], "min": 2, "vip": True},
    "nodes": {
        "a": {"output": {"items": [{"id": 1, "price": 5}, {"id": 2, "price": 1}], "k": "v"}},
        "b": {"output": {"y": "from b", "ok": True}},
        "my-node": {"output": 42},
        "items": {"output": "a node called items"},
        "get": {"output": "a node called get"},
        "failed": {"output": None, "error": {"message": "boom"}},
    },
    "execution": {"id": "e1", "workflow_id": "w1", "started_at": "2030-01-01T00:00:00+00:00"},
    "input": {"a": {"items": [1]}, "b": {"y": 2}},
}


def trimmed(found: References) -> dict[str, Any]:
    """The context an orchestrator honouring `found` would send."""
    nodes = FULL_CONTEXT["nodes"]
    return {
        "trigger": FULL_CONTEXT["trigger"] if found.trigger else None,
        "nodes": {node_id: value for node_id, value in nodes.items() if found.reads_node(node_id)},
        "execution": FULL_CONTEXT["execution"],
        "input": FULL_CONTEXT["input"] if found.input else {},
    }


SOUND_TEMPLATES = [
    "{{ nodes.a.output.k }}",
    "{{ nodes['my-node'].output + 1 }}",
    "{{ nodes.items.output }}",
    "{{ nodes.get.output }}",
    "{{ nodes[trigger.which].output.y }}",
    "{{ nodes | length }}",
    "{{ nodes | dictsort | map('first') | join(',') }}",
    "{% for v in nodes.values() %}{{ v.output }};{% endfor %}",
    "{{ nodes.keys() | sort | join(',') }}",
    "{% set all = nodes %}{{ all.b.output.y }}",
    "{% for x in trigger.items %}{% for y in nodes.a.output['items'] %}{{ x * y.price }},"
    "{% endfor %}{% endfor %}",
    "{{ nodes.failed.error.message }}",
    "{{ nodes.missing is defined }}",
    "{{ input.a['items'] | length }}",
    "{{ input | tojson }}",
    "{{ trigger | tojson }}",
    "{% if trigger.vip %}{{ nodes.a.output.k }}{% else %}{{ nodes.b.output.y }}{% endif %}",
    "{{ execution.id }}",
]


@pytest.mark.parametrize("source", SOUND_TEMPLATES)
def test_jinja_renders_the_same_against_the_trimmed_context(source: str) -> None:
    full = render_value(source, FULL_CONTEXT)
    assert render_value(source, trimmed(template_references(source))) == full


SOUND_EXPRESSIONS = [
    "nodes.a.output.items[price > 3].id",
    "nodes.`my-node`.output",
    "$.nodes.b.output.y",
    "$$.nodes.b.output.y",
    "nodes.a@$v.b.output.y",
    "$keys(nodes)",
    "$lookup(nodes, trigger.which).output.y",
    "$lookup('nodes').b.output.y",
    "$sift(function($v, $k) { $k = 'nodes' }).nodes.b.output.y",
    "$each(nodes, function($v, $k) { $k })",
    "$string()",
    "trigger.%.nodes.b.output.y",
    "$eval('nodes.b.output.y')",
    "*.b.output.y",
    "**.y",
    "nodes.a.output.items[$$.trigger.min < price].id",
    "$map(nodes.a.output.items, function($v) { $v.id & trigger.name })",
    "input.b.y",
    '{"n": $count($keys(nodes)), "t": trigger.name}',
]


@pytest.mark.parametrize("expression", SOUND_EXPRESSIONS)
def test_jsonata_evaluates_the_same_against_the_trimmed_context(expression: str) -> None:
    compiled = jsonata.Jsonata(expression)
    full = compiled.evaluate(FULL_CONTEXT)
    assert full is not None, "the case must read something to prove anything"
    again = jsonata.Jsonata(expression).evaluate(trimmed(jsonata_references(expression)))
    assert again == full


# --- nodes and graphs --------------------------------------------------------------------------


def node(node_type: str, config: dict[str, Any], node_id: str = "n") -> Node:
    return Node(id=node_id, type=node_type, config=config)


def test_http_node_templates_anywhere_in_its_config() -> None:
    http = node(
        "http",
        {
            "method": "POST",
            "url": "https://api.example.com/{{ nodes.auth.output.tenant }}",
            "query": {"q": ["{{ trigger.q }}", "fixed"]},
            "headers": {"Authorization": "Bearer {{ nodes['auth'].output.token }}"},
            "body_type": "json",
            "body": {"rows": [{"id": "{{ nodes.rows.output.first }}"}], "n": 3},
        },
    )
    assert node_references(http) == refs("auth", "rows", trigger=True)


def test_condition_rules_are_templates() -> None:
    condition = node(
        "condition",
        {
            "rules": [
                {
                    "value": "{{ nodes.score.output }}",
                    "operator": "gt",
                    "compare_to": 5,
                    "branch": "hi",
                },
                {
                    "value": "{{ trigger.plan }}",
                    "operator": "eq",
                    "compare_to": "{{ input.x }}",
                    "branch": "p",
                },
            ],
            "default_branch": "other",
        },
    )
    assert node_references(condition) == refs("score", trigger=True, input=True)


def test_transform_expression_is_jsonata_and_mapping_is_jinja() -> None:
    expression = node("transform", {"expression": "nodes.a.output.items[price > 3]"})
    assert node_references(expression) == refs("a")
    # `{{ }}` inside JSONata is not a Jinja template: only the JSONata reading counts.
    quoted = node("transform", {"expression": "'{{ nodes.b }}' & nodes.a.output.k"})
    assert node_references(quoted) == refs("a")
    mapping = node("transform", {"mapping": {"x": "{{ nodes.b.output }}", "y": ["{{ input }}"]}})
    assert node_references(mapping) == refs("b", input=True)
    dynamic = node("transform", {"expression": "$keys(nodes)"})
    assert node_references(dynamic).all_nodes


def test_merge_always_reads_its_inputs() -> None:
    assert node_references(node("merge", {})) == refs(input=True)
    assert node_references(node("merge", {"mode": "list"})) == refs(input=True)


def test_wait_reads_only_what_its_until_template_names() -> None:
    assert node_references(node("wait", {"seconds": 5})) == NOTHING
    assert node_references(node("wait", {"until": "{{ nodes.plan.output.at }}"})) == refs("plan")


def test_manual_trigger_sample_payload_is_never_evaluated() -> None:
    trigger = node("trigger.manual", {"sample_payload": {"a": "{{ nodes.x }}"}})
    assert node_references(trigger) == NOTHING


def test_unknown_node_type_reads_everything() -> None:
    assert node_references(node("slack.post", {"text": "hi"})) == EVERYTHING


def test_every_untemplated_field_says_how_it_is_read() -> None:
    """A new untemplated field must be classified, or it silently reads everything."""
    for name, node_type in NODE_TYPES.items():
        for field in node_type.config_model.untemplated_fields():
            assert (name, field) in refs_module._UNTEMPLATED_READERS, (name, field)


def test_graph_references_by_node_id() -> None:
    graph = WorkflowGraph.model_validate(
        {
            "name": "g",
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "fetch", "type": "http", "config": {"url": "https://x/{{ trigger.id }}"}},
                {
                    "id": "shape",
                    "type": "transform",
                    "config": {"expression": "nodes.fetch.output.body"},
                },
                {"id": "join", "type": "merge"},
            ],
            "edges": [
                {"source": "start", "target": "fetch"},
                {"source": "fetch", "target": "shape"},
                {"source": "shape", "target": "join"},
            ],
        }
    )
    assert graph_references(graph) == {
        "start": NOTHING,
        "fetch": refs(trigger=True),
        "shape": refs("fetch"),
        "join": refs(input=True),
    }


def test_references_combine_and_select() -> None:
    merged = refs("a", trigger=True) | refs("b", input=True)
    assert merged == refs("a", "b", trigger=True, input=True)
    assert merged.nodes_among(["a", "b", "c"]) == {"a", "b"}
    assert refs(all_nodes=True).nodes_among(["a", "c"]) == {"a", "c"}
    assert not NOTHING.reads_node("a")
