"""The node runners this service knows, by node type.

Adding a node type: a config model in `portico_contracts.nodes`, a module here with
`async def run_<type>(config, ctx) -> Outcome`, an entry below, and its name in
`config.EXECUTOR_TYPES` (kept separate so reading settings imports no runner). A type whose
run does something outside Portico (a request, a message posted) sets `side_effects=True`.
"""

from __future__ import annotations

from portico_contracts.node_config import NodeConfig
from portico_contracts.nodes import NODE_TYPES
from portico_executors.config import EXECUTOR_TYPES
from portico_executors.nodes.ai import run_ai
from portico_executors.nodes.base import NodeRunner
from portico_executors.nodes.chat import run_discord, run_slack
from portico_executors.nodes.condition import prepare_condition, run_condition
from portico_executors.nodes.http import run_http
from portico_executors.nodes.merge import run_merge
from portico_executors.nodes.transform import run_transform
from portico_executors.nodes.wait import run_wait


def _config_model(node_type: str) -> type[NodeConfig]:
    return NODE_TYPES[node_type].config_model


RUNNERS: dict[str, NodeRunner] = {
    runner.node_type: runner
    for runner in (
        NodeRunner(
            "http", _config_model("http"), run_http, cancellable_timeout=True, side_effects=True
        ),
        NodeRunner("transform", _config_model("transform"), run_transform),
        NodeRunner(
            "condition", _config_model("condition"), run_condition, prepare=prepare_condition
        ),
        NodeRunner("merge", _config_model("merge"), run_merge),
        NodeRunner("wait", _config_model("wait"), run_wait),
        NodeRunner(
            "slack", _config_model("slack"), run_slack, cancellable_timeout=True, side_effects=True
        ),
        NodeRunner(
            "discord",
            _config_model("discord"),
            run_discord,
            cancellable_timeout=True,
            side_effects=True,
        ),
        NodeRunner(
            "ai",
            _config_model("ai"),
            run_ai,
            cancellable_timeout=True,
            side_effects=True,
            reports_progress=True,
        ),
    )
}

assert tuple(RUNNERS) == EXECUTOR_TYPES, "keep config.EXECUTOR_TYPES in step with RUNNERS"

__all__ = ["RUNNERS", "NodeRunner"]
