// Copy and paste of nodes: the selected nodes and the edges between them, as JSON text (so it
// travels through the system clipboard, even between workflows), pasted with fresh ids.
import type { GraphEdge, GraphNode, WorkflowGraph } from "../api/types";
import { nextNodeId, renamedConfig } from "./ids";

export const CLIPBOARD_FORMAT = "portico.nodes";

export interface ClipboardPayload {
  format: typeof CLIPBOARD_FORMAT;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export function copyNodes(graph: WorkflowGraph, ids: readonly string[]): ClipboardPayload | null {
  const chosen = new Set(ids);
  const nodes = graph.nodes.filter((node) => chosen.has(node.id));
  if (nodes.length === 0) return null;
  const edges = graph.edges.filter((edge) => chosen.has(edge.source) && chosen.has(edge.target));
  return { format: CLIPBOARD_FORMAT, nodes, edges };
}

export function serializeClipboard(payload: ClipboardPayload): string {
  return JSON.stringify(payload, null, 2);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The payload in a text, or null when the text is anything else (plain text someone copied). */
export function parseClipboard(text: string): ClipboardPayload | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value) || value.format !== CLIPBOARD_FORMAT) return null;
  const { nodes, edges } = value;
  if (!Array.isArray(nodes) || !Array.isArray(edges)) return null;
  const validNodes = nodes.filter(
    (node): node is GraphNode =>
      isRecord(node) && typeof node.id === "string" && typeof node.type === "string",
  );
  const validEdges = edges.filter(
    (edge): edge is GraphEdge =>
      isRecord(edge) && typeof edge.source === "string" && typeof edge.target === "string",
  );
  if (validNodes.length === 0) return null;
  return { format: CLIPBOARD_FORMAT, nodes: validNodes, edges: validEdges };
}

/**
 * The graph with the payload added: each node gets a new id made from its type, its position
 * moves by `offset`, and edges and templates between pasted nodes follow the new ids.
 */
export function pasteNodes(
  graph: WorkflowGraph,
  payload: ClipboardPayload,
  offset: { x: number; y: number },
): { graph: WorkflowGraph; pastedIds: string[] } {
  const taken = new Set(graph.nodes.map((node) => node.id));
  const renames = new Map<string, string>();
  for (const node of payload.nodes) {
    const id = nextNodeId(node.type, taken);
    taken.add(id);
    renames.set(node.id, id);
  }
  const nodes = payload.nodes.map((node) =>
    renamedConfig(
      {
        ...node,
        id: renames.get(node.id) as string,
        position: { x: (node.position?.x ?? 0) + offset.x, y: (node.position?.y ?? 0) + offset.y },
      },
      renames,
    ),
  );
  const edges = payload.edges
    .filter((edge) => renames.has(edge.source) && renames.has(edge.target))
    .map((edge) => ({
      ...edge,
      source: renames.get(edge.source) as string,
      target: renames.get(edge.target) as string,
    }));
  return {
    graph: { ...graph, nodes: [...graph.nodes, ...nodes], edges: [...graph.edges, ...edges] },
    pastedIds: nodes.map((node) => node.id),
  };
}
