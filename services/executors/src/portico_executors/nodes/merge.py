"""merge: join the active inputs of a node, keyed by source node id or as a list.

`list` mode orders the values by source node id: the orchestrator may fill `inputs` in any
order (results arrive in parallel), and a workflow must not see a different list each run.
"""

from __future__ import annotations

from portico_contracts.nodes import MergeConfig
from portico_executors.nodes.base import Outcome, RunContext


async def run_merge(config: MergeConfig, ctx: RunContext) -> Outcome:
    inputs = ctx.ready.inputs
    if config.mode == "list":
        return Outcome(output=[inputs[node_id] for node_id in sorted(inputs)])
    return Outcome(output={node_id: inputs[node_id] for node_id in sorted(inputs)})
