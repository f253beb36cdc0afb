// Which new edges the canvas accepts: the rules the server enforces on save, checked while the
// person drags so that a bad edge is never drawn.
import type { GraphEdge, WorkflowGraph } from "../api/types";
import { type Catalogue, findNode, isTriggerType, sameEdge, sourceHandleOf } from "./graphModel";

export interface ConnectionAttempt {
  source: string | null;
  target: string | null;
  sourceHandle?: string | null;
}

/** Whether following edges from `from` reaches `to` (a node reaches itself). */
export function reaches(graph: WorkflowGraph, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (current === to) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const edge of graph.edges) if (edge.source === current) stack.push(edge.target);
  }
  return false;
}

/** The graph edge a connection stands for, or null when its ends are unknown. */
export function edgeFromConnection(graph: WorkflowGraph, attempt: ConnectionAttempt): GraphEdge | null {
  if (!attempt.source || !attempt.target) return null;
  const source = findNode(graph, attempt.source);
  if (!source || !findNode(graph, attempt.target)) return null;
  return {
    source: attempt.source,
    target: attempt.target,
    source_handle: sourceHandleOf(attempt.sourceHandle, source),
  };
}

/** Why this connection may not be made, or null when it may. */
export function connectionProblem(
  graph: WorkflowGraph,
  catalogue: Catalogue,
  attempt: ConnectionAttempt,
): string | null {
  const edge = edgeFromConnection(graph, attempt);
  if (!edge) return "Connect two nodes of this workflow.";
  if (edge.source === edge.target) return "A node cannot connect to itself.";
  const target = findNode(graph, edge.target);
  if (target && isTriggerType(target.type, catalogue)) return "Nothing can lead into a trigger.";
  if (graph.edges.some((existing) => sameEdge(existing, edge))) {
    return "These nodes are already connected that way.";
  }
  if (reaches(graph, edge.target, edge.source)) return "That connection would make a loop.";
  return null;
}
