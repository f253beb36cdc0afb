// The execution page has two sources: the live run (snapshot + events) and the detail it
// fetches (GET /api/executions/{id}), which also carries what events do not: each node's
// recorded input, usage and cost. This picks whichever stands further on.
import type { ExecutionDetail } from "../api/types";
import { runFromDetail } from "../live/runState";
import type { RunState } from "../live/types";

export function currentRun(live: RunState | null, fetched: ExecutionDetail | null): RunState | null {
  const fromDetail = fetched ? runFromDetail(fetched) : null;
  if (!live || !fromDetail || live.executionId !== fromDetail.executionId) return live ?? fromDetail;
  // On a tie the live run wins: it also has the text an AI node is streaming.
  const newer = fromDetail.lastSeq > live.lastSeq ? fromDetail : live;
  const nodes: RunState["nodes"] = {};
  for (const [nodeId, node] of Object.entries(newer.nodes)) {
    const input = fromDetail.nodes[nodeId]?.input;
    nodes[nodeId] = input === undefined ? node : { ...node, input };
  }
  return { ...newer, nodes };
}

/** The node to show first: the one the execution failed on, if any. */
export function failedNodeId(run: RunState): string | null {
  const named = run.error?.details?.node_id;
  if (typeof named === "string" && run.nodes[named]) return named;
  const failed = Object.entries(run.nodes).find(([, node]) => node.status === "failed");
  return failed ? failed[0] : null;
}

/** How many nodes have finished: a change means the fetched detail is worth refreshing. */
export function finishedNodeCount(run: RunState): number {
  const finished = new Set(["succeeded", "failed", "skipped", "cancelled", "retrying"]);
  return Object.values(run.nodes).filter((node) => finished.has(node.status)).length;
}
