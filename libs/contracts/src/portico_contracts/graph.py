"""The workflow graph: its shape (pydantic) and every rule a saved graph must satisfy.

`WorkflowGraph` checks shape only, so a graph with many mistakes still parses;
`graph_problems` then lists every semantic problem with the node it is on, and
`validate_graph` raises them all at once for a 422.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from portico_contracts.nodes import ERROR_HANDLE, NODE_TYPES, ConditionConfig
from portico_contracts.templates import template_errors

NODE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float = 0.0
    y: float = 0.0


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(default=1, ge=1, le=20)
    initial_delay_ms: int = Field(default=1000, ge=0, le=3_600_000)
    multiplier: float = Field(default=2.0, ge=1.0, le=10.0)
    max_delay_ms: int = Field(default=300_000, ge=0, le=86_400_000)

    def delay_ms(self, failed_attempt: int) -> int:
        """Delay before the attempt that follows `failed_attempt` (1-based)."""
        delay = self.initial_delay_ms * self.multiplier ** (failed_attempt - 1)
        return int(min(delay, self.max_delay_ms))


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=NODE_ID_PATTERN, description="Unique in the graph; templates use it.")
    type: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    position: Position = Field(default_factory=Position)
    config: dict[str, Any] = Field(default_factory=dict)
    credential_id: str | None = Field(default=None, max_length=100)
    retry: RetryPolicy | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=86_400)
    on_error: Literal["fail", "continue"] = "fail"


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    source_handle: str | None = Field(default=None, max_length=64)


class WorkflowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="Executions of this workflow running at once; more wait as `queued`.",
    )


class WorkflowGraph(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    settings: WorkflowSettings = Field(default_factory=WorkflowSettings)
    nodes: list[Node] = Field(max_length=500)
    edges: list[Edge] = Field(default_factory=list, max_length=2000)

    @cached_property
    def node_map(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def incoming(self) -> dict[str, list[Edge]]:
        found: dict[str, list[Edge]] = defaultdict(list)
        for edge in self.edges:
            found[edge.target].append(edge)
        return dict(found)

    @cached_property
    def outgoing(self) -> dict[str, list[Edge]]:
        found: dict[str, list[Edge]] = defaultdict(list)
        for edge in self.edges:
            found[edge.source].append(edge)
        return dict(found)

    def predecessors(self, node_id: str) -> list[str]:
        return list(dict.fromkeys(edge.source for edge in self.incoming.get(node_id, [])))

    def successors(self, node_id: str) -> list[str]:
        return list(dict.fromkeys(edge.target for edge in self.outgoing.get(node_id, [])))

    def triggers(self) -> list[Node]:
        return [n for n in self.nodes if n.type in NODE_TYPES and NODE_TYPES[n.type].is_trigger]

    def ancestors(self, node_id: str) -> set[str]:
        seen: set[str] = set()
        queue = deque(self.predecessors(node_id))
        while queue:
            current = queue.popleft()
            if current not in seen:
                seen.add(current)
                queue.extend(self.predecessors(current))
        return seen

    def topological_order(self) -> list[str] | None:
        """Node ids in dependency order, or None when the graph has a cycle."""
        indegree = {node.id: 0 for node in self.nodes}
        for edge in self.edges:
            if edge.source in indegree and edge.target in indegree:
                indegree[edge.target] += 1
        ready = deque(node_id for node_id, degree in indegree.items() if degree == 0)
        order: list[str] = []
        while ready:
            current = ready.popleft()
            order.append(current)
            for edge in self.outgoing.get(current, []):
                if edge.target in indegree:
                    indegree[edge.target] -= 1
                    if indegree[edge.target] == 0:
                        ready.append(edge.target)
        return order if len(order) == len(indegree) else None


class GraphProblem(BaseModel):
    """One reason a graph cannot be saved: where it is (`node_id`, `field`) and what to do."""

    code: str
    message: str
    node_id: str | None = None
    field: str | None = None


class GraphValidationError(ValueError):
    def __init__(self, problems: list[GraphProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _loc(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _node_problems(node: Node) -> list[GraphProblem]:
    node_type = NODE_TYPES.get(node.type)
    if node_type is None:
        known = ", ".join(sorted(NODE_TYPES))
        return [
            GraphProblem(
                code="unknown_node_type",
                node_id=node.id,
                field="type",
                message=f"node '{node.id}': unknown type '{node.type}' (known types: {known})",
            )
        ]
    problems: list[GraphProblem] = []
    try:
        node_type.config_model.model_validate(node.config)
    except ValidationError as exc:
        for error in exc.errors():
            where = _loc(("config", *error["loc"]))
            problems.append(
                GraphProblem(
                    code="invalid_config",
                    node_id=node.id,
                    field=where,
                    message=f"node '{node.id}': {where}: {error['msg']}",
                )
            )
    untemplated = node_type.config_model.untemplated_fields()
    templated = {k: v for k, v in node.config.items() if k not in untemplated}
    for path, reason in template_errors(templated, "config"):
        problems.append(
            GraphProblem(
                code="invalid_template",
                node_id=node.id,
                field=path,
                message=f"node '{node.id}': {path}: {reason}",
            )
        )
    if node.credential_id and not node_type.credential_types:
        problems.append(
            GraphProblem(
                code="unexpected_credential",
                node_id=node.id,
                field="credential_id",
                message=f"node '{node.id}': a {node.type} node takes no credential; remove it",
            )
        )
    if node_type.needs_credential and not node.credential_id:
        problems.append(
            GraphProblem(
                code="missing_credential",
                node_id=node.id,
                field="credential_id",
                message=f"node '{node.id}': a {node.type} node needs a credential_id",
            )
        )
    return problems


def _edge_problems(graph: WorkflowGraph) -> list[GraphProblem]:
    problems: list[GraphProblem] = []
    nodes = graph.node_map
    seen: set[tuple[str, str, str | None]] = set()
    for index, edge in enumerate(graph.edges):
        where = f"edges[{index}]"
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in nodes:
                problems.append(
                    GraphProblem(
                        code="dangling_edge",
                        node_id=node_id,
                        field=f"{where}.{end}",
                        message=f"{where}: {end} '{node_id}' is not a node in this graph",
                    )
                )
        if edge.source == edge.target:
            problems.append(
                GraphProblem(
                    code="self_loop",
                    node_id=edge.source,
                    field=where,
                    message=f"{where}: node '{edge.source}' links to itself",
                )
            )
        key = (edge.source, edge.target, edge.source_handle)
        if key in seen:
            problems.append(
                GraphProblem(
                    code="duplicate_edge",
                    node_id=edge.target,
                    field=where,
                    message=f"{where}: duplicate edge {edge.source} → {edge.target}",
                )
            )
        seen.add(key)
        source = nodes.get(edge.source)
        target = nodes.get(edge.target)
        if target is not None and target.type in NODE_TYPES and NODE_TYPES[target.type].is_trigger:
            problems.append(
                GraphProblem(
                    code="edge_into_trigger",
                    node_id=target.id,
                    field=where,
                    message=f"{where}: trigger '{target.id}' cannot have incoming edges",
                )
            )
        if source is not None:
            problems += _handle_problems(source, edge, where)
    return problems


def _handle_problems(source: Node, edge: Edge, where: str) -> list[GraphProblem]:
    handle = edge.source_handle
    if handle is None or handle == ERROR_HANDLE:
        if source.type == "condition" and handle is None:
            return [
                GraphProblem(
                    code="missing_branch",
                    node_id=source.id,
                    field=f"{where}.source_handle",
                    message=f"{where}: edges leaving condition '{source.id}' need "
                    "source_handle set to one of its branches",
                )
            ]
        return []
    if source.type != "condition":
        return [
            GraphProblem(
                code="unknown_handle",
                node_id=source.id,
                field=f"{where}.source_handle",
                message=f"{where}: '{source.id}' has no output '{handle}' (only "
                f"condition nodes have branches; use null or 'error')",
            )
        ]
    try:
        branches = ConditionConfig.model_validate(source.config).branches()
    except ValidationError:
        return []  # the config problem is reported on the node already
    if handle not in branches:
        return [
            GraphProblem(
                code="unknown_branch",
                node_id=source.id,
                field=f"{where}.source_handle",
                message=f"{where}: condition '{source.id}' has no branch "
                f"'{handle}' (branches: {', '.join(sorted(branches))})",
            )
        ]
    return []


def graph_problems(graph: WorkflowGraph) -> list[GraphProblem]:
    problems: list[GraphProblem] = []
    seen: set[str] = set()
    for index, node in enumerate(graph.nodes):
        if node.id in seen:
            problems.append(
                GraphProblem(
                    code="duplicate_node_id",
                    node_id=node.id,
                    field=f"nodes[{index}].id",
                    message=f"node id '{node.id}' is used more than once",
                )
            )
        seen.add(node.id)
        problems += _node_problems(node)
    if not graph.triggers():
        problems.append(
            GraphProblem(
                code="no_trigger",
                field="nodes",
                message="the graph needs at least one trigger node (for example trigger.manual)",
            )
        )
    problems += _edge_problems(graph)
    if graph.topological_order() is None:
        cyclic = _nodes_on_cycles(graph)
        problems.append(
            GraphProblem(
                code="cycle",
                node_id=cyclic[0] if cyclic else None,
                field="edges",
                message="the graph has a cycle through "
                f"{', '.join(cyclic)}; remove an edge to break it",
            )
        )
    return problems


def _nodes_on_cycles(graph: WorkflowGraph) -> list[str]:
    """Nodes that remain after repeatedly peeling off sources and sinks lie on or between cycles."""
    alive = set(graph.node_map)
    edges = [(e.source, e.target) for e in graph.edges if e.source in alive and e.target in alive]
    changed = True
    while changed:
        live_edges = [(s, t) for s, t in edges if s in alive and t in alive]
        has_in = {t for _, t in live_edges}
        has_out = {s for s, _ in live_edges}
        keep = alive & has_in & has_out
        changed = keep != alive
        alive = keep
    return [node.id for node in graph.nodes if node.id in alive]


def validate_graph(data: WorkflowGraph | dict[str, Any]) -> WorkflowGraph:
    """Parse and check a graph; raise GraphValidationError listing every problem."""
    if isinstance(data, WorkflowGraph):
        graph = data
    else:
        try:
            graph = WorkflowGraph.model_validate(data)
        except ValidationError as exc:
            raise GraphValidationError(
                [
                    GraphProblem(
                        code="invalid_shape",
                        field=_loc(e["loc"]),
                        message=f"{_loc(e['loc']) or 'graph'}: {e['msg']}",
                    )
                    for e in exc.errors()
                ]
            ) from exc
    problems = graph_problems(graph)
    if problems:
        raise GraphValidationError(problems)
    return graph
