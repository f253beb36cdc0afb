"""Graph validation: every rule of DESIGN.md, each problem named with its node."""

from __future__ import annotations

from typing import Any

import pytest

from portico_contracts.graph import GraphValidationError, RetryPolicy, validate_graph


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": "g", "nodes": nodes, "edges": edges or []}


TRIGGER = {"id": "start", "type": "trigger.manual"}


def problems(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(data)
    return [(p.code, p.node_id) for p in caught.value.problems]


def test_valid_graph_with_every_node_type() -> None:
    data = graph(
        [
            TRIGGER,
            {"id": "fetch", "type": "http", "config": {"url": "https://x.test/{{ trigger.id }}"}},
            {"id": "shape", "type": "transform", "config": {"expression": "nodes.fetch.output"}},
            {
                "id": "route",
                "type": "condition",
                "config": {
                    "rules": [
                        {
                            "value": "{{ nodes.shape.output.n }}",
                            "operator": "gt",
                            "compare_to": 3,
                            "branch": "big",
                        }
                    ],
                    "default_branch": "small",
                },
            },
            {"id": "pause", "type": "wait", "config": {"seconds": 0.1}},
            {"id": "join", "type": "merge"},
        ],
        [
            {"source": "start", "target": "fetch"},
            {"source": "fetch", "target": "shape"},
            {"source": "shape", "target": "route"},
            {"source": "route", "target": "pause", "source_handle": "big"},
            {"source": "route", "target": "join", "source_handle": "small"},
            {"source": "pause", "target": "join"},
            {"source": "fetch", "target": "join", "source_handle": "error"},
        ],
    )
    parsed = validate_graph(data)
    assert parsed.topological_order() is not None
    assert parsed.ancestors("join") == {"start", "fetch", "shape", "route", "pause"}


def test_cycle_names_the_nodes_on_it() -> None:
    found = problems(
        graph(
            [TRIGGER, {"id": "a", "type": "merge"}, {"id": "b", "type": "merge"}],
            [
                {"source": "start", "target": "a"},
                {"source": "a", "target": "b"},
                {"source": "b", "target": "a"},
            ],
        )
    )
    assert ("cycle", "a") in found


def test_self_loop_dangling_edge_and_duplicate_ids() -> None:
    found = problems(
        graph(
            [TRIGGER, {"id": "a", "type": "merge"}, {"id": "a", "type": "merge"}],
            [{"source": "a", "target": "a"}, {"source": "start", "target": "ghost"}],
        )
    )
    assert ("self_loop", "a") in found
    assert ("dangling_edge", "ghost") in found
    assert ("duplicate_node_id", "a") in found


def test_trigger_rules() -> None:
    assert ("no_trigger", None) in problems(graph([{"id": "a", "type": "merge"}]))
    found = problems(
        graph([TRIGGER, {"id": "a", "type": "merge"}], [{"source": "a", "target": "start"}])
    )
    assert ("edge_into_trigger", "start") in found


def test_unknown_type_bad_config_and_bad_template_are_all_reported() -> None:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(
            graph(
                [
                    TRIGGER,
                    {"id": "x", "type": "teleport"},
                    {
                        "id": "h",
                        "type": "http",
                        "config": {"method": "FETCH", "url": "https://a.test"},
                    },
                    {
                        "id": "t",
                        "type": "transform",
                        "config": {"mapping": {"a": "{{ nodes.h.output "}},
                    },
                ]
            )
        )
    by_node = {p.node_id: p for p in caught.value.problems}
    assert by_node["x"].code == "unknown_node_type"
    assert "teleport" in by_node["x"].message
    assert by_node["h"].code == "invalid_config"
    assert by_node["h"].field == "config.method"
    assert by_node["t"].code == "invalid_template"
    assert by_node["t"].field == "config.mapping.a"


def test_condition_edges_need_a_known_branch() -> None:
    cond = {
        "id": "c",
        "type": "condition",
        "config": {"rules": [{"value": 1, "operator": "eq", "compare_to": 1, "branch": "yes"}]},
    }
    found = problems(
        graph(
            [TRIGGER, cond, {"id": "a", "type": "merge"}, {"id": "b", "type": "merge"}],
            [
                {"source": "start", "target": "c"},
                {"source": "c", "target": "a"},
                {"source": "c", "target": "b", "source_handle": "maybe"},
            ],
        )
    )
    assert ("missing_branch", "c") in found
    assert ("unknown_branch", "c") in found


def test_handles_only_exist_on_conditions() -> None:
    found = problems(
        graph(
            [TRIGGER, {"id": "a", "type": "merge"}],
            [{"source": "start", "target": "a", "source_handle": "yes"}],
        )
    )
    assert found == [("unknown_handle", "start")]


def test_shape_errors_name_the_field() -> None:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph({"name": "", "nodes": [{"id": "1bad", "type": "merge"}]})
    fields = {p.field for p in caught.value.problems}
    assert {"name", "nodes.0.id"} <= fields


def test_transform_needs_exactly_one_mode_and_valid_jsonata() -> None:
    found = problems(graph([TRIGGER, {"id": "t", "type": "transform", "config": {}}]))
    assert found == [("invalid_config", "t")]
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(
            graph([TRIGGER, {"id": "t", "type": "transform", "config": {"expression": "$sum("}}])
        )
    assert "JSONata" in caught.value.problems[0].message


def test_jsonata_expression_is_not_treated_as_a_template() -> None:
    validate_graph(
        graph(
            [
                TRIGGER,
                {"id": "t", "type": "transform", "config": {"expression": '{"a": trigger.b}'}},
            ]
        )
    )


def test_retry_delay_grows_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay_ms=100, multiplier=3, max_delay_ms=500)
    assert [policy.delay_ms(n) for n in (1, 2, 3)] == [100, 300, 500]


def test_a_template_nested_too_deeply_is_a_problem_on_its_node() -> None:
    deep = "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}"
    node = {"id": "m", "type": "transform", "config": {"mapping": {"a": deep}}}
    found = problems(graph([TRIGGER, node], [{"source": "start", "target": "m"}]))
    assert found == [("invalid_template", "m")]


def test_rendered_numbers_in_text_fields_become_text() -> None:
    from portico_contracts.nodes import HttpConfig

    config = HttpConfig.model_validate(
        {"url": "https://a.test", "headers": {"X-Id": 7}, "timeout_s": 5}
    )
    assert config.headers == {"X-Id": "7"}
    assert config.timeout_s == 5.0
