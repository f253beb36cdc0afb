"""The per-version graph cache: bounded, least recently used first out, never wrong."""

from __future__ import annotations

import json

import pytest

from portico_orchestrator.graphs import GraphCache
from portico_orchestrator.readiness import InvalidGraphError
from tests.orchestrator.harness import TRIGGER, make_graph

GRAPH = make_graph([TRIGGER, {"id": "a"}], [("t", "a")])
OTHER = make_graph([TRIGGER, {"id": "b"}], [("t", "b")])


def test_a_version_is_indexed_once_and_its_json_encoded_once() -> None:
    cache = GraphCache(4)
    first = cache.for_command(("tenant", "wf", 1), GRAPH)
    again = cache.for_command(("tenant", "wf", 1), GRAPH.model_copy(deep=True))
    assert again is first
    assert again.graph_json is first.graph_json
    assert json.loads(first.graph_json) == GRAPH.model_dump(mode="json")


def test_the_cache_keeps_at_most_its_bound_dropping_the_least_recently_used() -> None:
    cache = GraphCache(2)
    one = cache.for_command(("tenant", "wf", 1), GRAPH)
    cache.for_command(("tenant", "wf", 2), GRAPH)
    assert cache.for_command(("tenant", "wf", 1), GRAPH) is one  # now the most recent
    cache.for_command(("tenant", "wf", 3), GRAPH)
    assert len(cache) == 2
    assert cache.for_command(("tenant", "wf", 1), GRAPH) is one
    assert cache.for_command(("tenant", "wf", 2), GRAPH) is not one  # it was dropped


def test_another_graph_under_a_cached_key_is_indexed_as_itself() -> None:
    cache = GraphCache(4)
    cache.for_command(("tenant", "wf", 1), GRAPH)
    other = cache.for_command(("tenant", "wf", 1), OTHER)
    assert set(other.index.order) == {"t", "b"}
    assert cache.for_command(("other-tenant", "wf", 1), GRAPH).index.order == ("t", "a")


def test_a_stored_graph_finds_its_version_only_when_it_is_the_same() -> None:
    cache = GraphCache(4)
    cached = cache.for_command(("tenant", "wf", 1), GRAPH)
    stored = json.loads(cached.graph_json)  # as an execution row reads back
    assert cache.for_stored(("tenant", "wf", 1), stored) is cached.index
    other = cache.for_stored(("tenant", "wf", 1), json.loads(OTHER.model_dump_json()))
    assert other is not cached.index
    assert set(other.order) == {"t", "b"}


def test_a_graph_that_cannot_run_is_refused_and_not_cached() -> None:
    cache = GraphCache(4)
    cycle = make_graph([TRIGGER, {"id": "a"}, {"id": "b"}], [("t", "a"), ("a", "b"), ("b", "a")])
    with pytest.raises(InvalidGraphError):
        cache.for_command(("tenant", "wf", 1), cycle)
    assert len(cache) == 0
