// Node ids: generated from the type (`transform_1`, `trigger_webhook_2`), checked against the
// server's pattern, and renamed with every reference that names them.
import type { GraphNode, WorkflowGraph } from "../api/types";

export const NODE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_ID_LENGTH = 64;

/** The stem of generated ids for a type: `trigger.webhook` → `trigger_webhook`. */
export function idBase(typeName: string): string {
  let base = typeName.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "");
  if (!/^[A-Za-z]/.test(base)) base = `node_${base}`.replace(/_+$/, "");
  return base.slice(0, MAX_ID_LENGTH - 6);
}

/** The first `<base>_<n>` (n = 1, 2, …) no node uses yet. */
export function nextNodeId(typeName: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = idBase(typeName);
  for (let n = 1; ; n += 1) {
    const candidate = `${base}_${n}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** Why `id` cannot be the new id of node `currentId`, or null when it can. */
export function nodeIdProblem(id: string, graph: WorkflowGraph, currentId: string): string | null {
  if (id === "") return "An id is required.";
  if (!NODE_ID_PATTERN.test(id)) {
    return "Start with a letter; then up to 63 letters, digits, _ or -.";
  }
  if (id !== currentId && graph.nodes.some((node) => node.id === id)) {
    return `Another node is already called “${id}”.`;
  }
  return null;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Rewrite `nodes.<from>` to `nodes.<to>` in every string inside a value (templates, JSONata). */
export function renameReferences(value: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (renames.size === 0) return value;
  if (typeof value === "string") {
    let text = value;
    for (const [from, to] of renames) {
      // An id ends where a character that cannot be part of an id begins.
      const pattern = new RegExp(`(\\bnodes\\s*\\.\\s*)${escapeRegExp(from)}(?![A-Za-z0-9_-])`, "g");
      const quoted = new RegExp(`(\\bnodes\\s*\\[\\s*["'])${escapeRegExp(from)}(["']\\s*\\])`, "g");
      text = text.replace(pattern, `$1${to}`).replace(quoted, `$1${to}$2`);
    }
    return text;
  }
  if (Array.isArray(value)) return value.map((item) => renameReferences(item, renames));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        renameReferences(item, renames),
      ]),
    );
  }
  return value;
}

export function renamedConfig(node: GraphNode, renames: ReadonlyMap<string, string>): GraphNode {
  if (!node.config) return node;
  const config = renameReferences(node.config, renames) as Record<string, unknown>;
  // A webhook answering with a node's output names that node outright.
  const responder = config.response_node;
  if (typeof responder === "string" && renames.has(responder)) {
    config.response_node = renames.get(responder);
  }
  return { ...node, config };
}

/** The graph with node `from` called `to`: its edges and every template naming it follow. */
export function renameNode(graph: WorkflowGraph, from: string, to: string): WorkflowGraph {
  if (from === to) return graph;
  const renames = new Map([[from, to]]);
  return {
    ...graph,
    nodes: graph.nodes.map((node) =>
      renamedConfig(node.id === from ? { ...node, id: to } : node, renames),
    ),
    edges: graph.edges.map((edge) => ({
      ...edge,
      source: edge.source === from ? to : edge.source,
      target: edge.target === from ? to : edge.target,
    })),
  };
}
