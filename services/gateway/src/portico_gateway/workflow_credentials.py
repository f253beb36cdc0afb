"""Does every node's `credential_id` name a credential of this tenant, of a type the node takes?

Checked when a workflow is saved, so a wrong credential is found in the editor rather than in
a failed run. The credentials service is asked once per save, and only when a node names one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from portico_contracts.graph import GraphProblem, Node, WorkflowGraph
from portico_contracts.nodes import NODE_TYPES
from portico_gateway.credentials_client import is_credential_id

# Given credential ids, the type of each one of them the tenant has (absent: not the tenant's).
CredentialLookup = Callable[[list[str]], Awaitable[Mapping[str, str]]]


async def credential_problems(graph: WorkflowGraph, lookup: CredentialLookup) -> list[GraphProblem]:
    naming = [node for node in graph.nodes if node.credential_id]
    if not naming:
        return []
    ids = sorted({node.credential_id for node in naming if node.credential_id})
    askable = [credential_id for credential_id in ids if is_credential_id(credential_id)]
    types = await lookup(askable) if askable else {}
    return [problem for node in naming if (problem := _problem(node, types)) is not None]


def _problem(node: Node, types: Mapping[str, str]) -> GraphProblem | None:
    credential_id = node.credential_id or ""
    accepted = NODE_TYPES[node.type].credential_types if node.type in NODE_TYPES else ()
    found = types.get(credential_id)
    takes = " or ".join(accepted)
    if found is None:
        return GraphProblem(
            code="unknown_credential",
            node_id=node.id,
            field="credential_id",
            message=(
                f"node '{node.id}': there is no credential {credential_id} in this account; "
                f"create one at POST /api/credentials ({_a(node.type)} node takes {takes}) "
                "or pick one from GET /api/credentials"
            ),
        )
    if found not in accepted:
        return GraphProblem(
            code="wrong_credential_type",
            node_id=node.id,
            field="credential_id",
            message=(
                f"node '{node.id}': credential {credential_id} is {_a(found)} credential; "
                f"{_a(node.type)} node takes {takes}"
            ),
        )
    return None


def _a(name: str) -> str:
    # Type names are read letter by letter when they start with h ("an http node").
    return f"{'an' if name[:1] in set('aeiouh') else 'a'} {name}"
