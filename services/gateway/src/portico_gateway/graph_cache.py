"""Validated graphs of saved versions, kept in a bounded LRU: a run costs no graph parse.

A version is immutable once saved (a save appends the next one; a deleted workflow keeps its
versions), so a (tenant, workflow, version) key never goes stale. The tenant is part of the
key and every caller has checked that the workflow is that tenant's before asking.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from portico_contracts.graph import WorkflowGraph
from portico_contracts.lru import BoundedLru
from portico_gateway.errors import InvalidRequestError
from portico_gateway.models import WorkflowVersion

GraphKey = tuple[str, str, int]

# The graph as JSON text: pydantic parses it in one pass, without json.loads building dicts.
_VERSION_GRAPH = select(cast(WorkflowVersion.graph, Text)).where(
    WorkflowVersion.tenant_id == bindparam("tenant_id", type_=WorkflowVersion.tenant_id.type),
    WorkflowVersion.workflow_id == bindparam("workflow_id", type_=WorkflowVersion.workflow_id.type),
    WorkflowVersion.version == bindparam("version"),
)


def runnable(stored: str | bytes, number: int) -> WorkflowGraph:
    """A stored graph as the orchestrator will run it."""
    try:
        return WorkflowGraph.model_validate_json(stored)
    except ValidationError as exc:
        # Saved under older rules that have since tightened: say so rather than fail.
        raise InvalidRequestError(
            f"version {number} no longer matches the workflow format; open it and save it again"
        ) from exc


class GraphCache(BoundedLru[GraphKey, WorkflowGraph]):
    async def graph(
        self, connection: AsyncConnection, tenant_id: str, workflow_id: str, number: int
    ) -> WorkflowGraph | None:
        """The validated graph of that version, read (one statement) only on a miss; None
        when the version does not exist. The caller has checked the workflow is the tenant's."""
        key = (tenant_id, workflow_id, number)
        graph = self.get(key)
        if graph is not None:
            return graph
        params = {"tenant_id": tenant_id, "workflow_id": workflow_id, "version": number}
        stored = (await connection.execute(_VERSION_GRAPH, params)).scalar_one_or_none()
        if stored is None:
            return None
        graph = runnable(stored, number)
        self.put(key, graph)
        return graph
