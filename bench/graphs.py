"""The workflows the benchmarks run, as the public API takes them."""

from __future__ import annotations

from typing import Any

Graph = dict[str, Any]


def _graph(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, str]]) -> Graph:
    return {
        "name": name,
        "nodes": [{"id": "start", "type": "trigger.manual"}, *nodes],
        "edges": [{"source": source, "target": target} for source, target in edges],
    }


def chain(length: int) -> Graph:
    """`start` → n0 → … → n<length-1>, each a transform mapping one field."""
    nodes = [
        {"id": f"n{i}", "type": "transform", "config": {"mapping": {"i": i}}} for i in range(length)
    ]
    edges = [("start" if i == 0 else f"n{i - 1}", f"n{i}") for i in range(length)]
    return _graph(f"chain of {length}", nodes, edges)


def fan_out(width: int, seconds: float) -> Graph:
    """`start` → `width` waits of `seconds` in parallel → one merge."""
    waits = [{"id": f"w{i}", "type": "wait", "config": {"seconds": seconds}} for i in range(width)]
    edges = [("start", f"w{i}") for i in range(width)] + [(f"w{i}", "join") for i in range(width)]
    return _graph("fan out", [*waits, {"id": "join", "type": "merge"}], edges)


def one_node() -> Graph:
    """`start` → one transform of the trigger's payload."""
    shape = {"id": "shape", "type": "transform", "config": {"mapping": {"v": "{{ trigger.v }}"}}}
    return _graph("one node", [shape], [("start", "shape")])


def http_call(url: str, node_id: str, credential_id: str | None = None) -> dict[str, Any]:
    """A POST naming its (execution, node), so the receiving server can count what took effect."""
    node: dict[str, Any] = {
        "id": node_id,
        "type": "http",
        "config": {
            "method": "POST",
            "url": url,
            "body_type": "json",
            "body": {"execution": "{{ execution.id }}", "node": node_id},
        },
    }
    if credential_id is not None:
        node["credential_id"] = credential_id
    return node


def one_http_call(url: str) -> Graph:
    return _graph("one http call", [http_call(url, "call")], [("start", "call")])


def http_chain(length: int, url: str, credential_id: str | None) -> Graph:
    nodes = [http_call(url, f"n{i}", credential_id) for i in range(length)]
    edges = [("start" if i == 0 else f"n{i - 1}", f"n{i}") for i in range(length)]
    return _graph("http chain", nodes, edges)
