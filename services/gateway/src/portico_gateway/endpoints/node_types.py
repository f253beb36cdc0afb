"""The node catalogue the editor builds its palette and config forms from."""

from __future__ import annotations

from fastapi import APIRouter

from portico_contracts.nodes import NODE_TYPES
from portico_gateway.dependencies import CurrentPrincipal
from portico_gateway.schemas import NodeTypeView

router = APIRouter(prefix="/api", tags=["node types"])


def _catalogue() -> list[NodeTypeView]:
    return [
        NodeTypeView(
            name=node_type.name,
            label=node_type.label,
            category=node_type.category,
            description=node_type.description,
            needs_credential=node_type.needs_credential,
            credential_types=list(node_type.credential_types),
            is_trigger=node_type.is_trigger,
            config_schema=node_type.json_schema(),
        )
        for node_type in NODE_TYPES.values()
    ]


# NODE_TYPES is fixed at import time, so the schemas are computed once.
CATALOGUE = _catalogue()


@router.get("/node-types")
async def node_types(_: CurrentPrincipal) -> list[NodeTypeView]:
    """Every node type with the JSON schema of its `config`."""
    return CATALOGUE
