"""Graph versions this replica has seen, parsed and indexed once (versions are immutable).

Every start carries its graph snapshot, and a step whose execution is not in the
`ExecutionCache` (another replica started it, or it was evicted) reads it from the row; both
find the version here instead of validating and indexing the graph again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from portico_contracts.graph import WorkflowGraph
from portico_contracts.lru import BoundedLru
from portico_orchestrator.readiness import GraphIndex
from portico_orchestrator.step import jsonb_safe

VersionKey = tuple[str, str, int]  # (tenant_id, workflow_id, workflow_version)


@dataclass
class CachedGraph:
    """One version's graph and what readiness needs of it, plus its JSON (both as stored in
    a new execution row and as a row's graph reads back), each made once when first needed."""

    index: GraphIndex
    _json: str | None = None
    _stored: Any = None

    @property
    def graph_json(self) -> str:
        if self._json is None:
            self._json = jsonb_safe(self.index.graph.model_dump_json())
        return self._json

    def matches_stored(self, stored: Any) -> bool:
        """Whether an execution row's graph (as read from jsonb) is this one."""
        if self._stored is None:
            self._stored = json.loads(self.graph_json)
        return bool(self._stored == stored)


class GraphCache(BoundedLru[VersionKey, CachedGraph]):
    """Least recently used graph versions, so a start or a step never rebuilds a `GraphIndex`.

    A saved version never changes, but a command carries its own snapshot and nothing forces
    two senders to agree on what (workflow, version) holds (a test run, a replayed command),
    so a hit counts only when the graph equals the cached one; else it replaces it.
    """

    def for_command(self, key: VersionKey, graph: WorkflowGraph) -> CachedGraph:
        """The cached version equal to `graph`, else one built from it (raises
        `InvalidGraphError` when the graph cannot run)."""
        entry = self.get(key)
        if entry is not None and entry.index.graph == graph:
            return entry
        return self.put(key, CachedGraph(GraphIndex(graph)))

    def for_stored(self, key: VersionKey, stored: Any) -> GraphIndex:
        """The index of an execution's stored graph (as read from jsonb)."""
        entry = self.get(key)
        if entry is not None and entry.matches_stored(stored):
            return entry.index
        graph = WorkflowGraph.model_validate(stored)
        return self.put(key, CachedGraph(GraphIndex(graph), _stored=stored)).index
