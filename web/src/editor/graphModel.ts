// The saved graph as the editor reads it: lookups, the handles each node offers, how an edge's
// `source_handle` maps to a React Flow handle id, and a canonical form for "has it changed?".
import type { GraphEdge, GraphNode, NodeTypeView, WorkflowGraph } from "../api/types";

/** The handle of error edges (`source_handle: "error"`). */
export const ERROR_HANDLE = "error";
/** The one normal output of a node that is not a condition (`source_handle: null`). */
export const DEFAULT_HANDLE = "default";
export const CONDITION_TYPE = "condition";

export type Catalogue = ReadonlyMap<string, NodeTypeView>;

export function catalogueMap(types: readonly NodeTypeView[]): Catalogue {
  return new Map(types.map((type) => [type.name, type]));
}

export function isTriggerType(typeName: string, catalogue: Catalogue): boolean {
  const known = catalogue.get(typeName);
  return known ? known.is_trigger : typeName.startsWith("trigger.");
}

export function findNode(graph: WorkflowGraph, id: string): GraphNode | undefined {
  return graph.nodes.find((node) => node.id === id);
}

export interface SourceHandleSpec {
  id: string;
  /** Shown beside the handle; null for a node's single normal output. */
  label: string | null;
  kind: "default" | "branch" | "error" | "missing";
}

/** A condition's branches in rule order, then its default branch (each once). */
export function conditionBranches(config: Record<string, unknown> | undefined): string[] {
  const branches: string[] = [];
  const add = (branch: unknown) => {
    if (typeof branch === "string" && branch !== "" && branch !== ERROR_HANDLE && !branches.includes(branch)) {
      branches.push(branch);
    }
  };
  const rules = config?.rules;
  if (Array.isArray(rules)) {
    for (const rule of rules) add((rule as { branch?: unknown } | null)?.branch);
  }
  add(typeof config?.default_branch === "string" ? config.default_branch : "default");
  return branches;
}

/**
 * The outputs a node offers: a trigger one normal output; a condition one per branch; any other
 * node one normal output; every non-trigger an error output. An edge naming a handle the node
 * does not have (a renamed branch) gets a "missing" handle, so the edge stays visible.
 */
export function sourceHandles(
  node: GraphNode,
  catalogue: Catalogue,
  edges: readonly GraphEdge[] = [],
): SourceHandleSpec[] {
  const handles: SourceHandleSpec[] =
    node.type === CONDITION_TYPE
      ? conditionBranches(node.config).map((branch) => ({ id: branch, label: branch, kind: "branch" }))
      : [{ id: DEFAULT_HANDLE, label: null, kind: "default" }];
  if (!isTriggerType(node.type, catalogue)) {
    handles.push({ id: ERROR_HANDLE, label: "error", kind: "error" });
  }
  for (const edge of edges) {
    const wanted = edge.source === node.id ? edge.source_handle : null;
    if (wanted && !handles.some((handle) => handle.id === wanted)) {
      handles.push({ id: wanted, label: `${wanted} (missing)`, kind: "missing" });
    }
  }
  return handles;
}

/** The React Flow handle an edge leaves from. */
export function flowHandleOf(edge: GraphEdge, source: GraphNode | undefined): string | null {
  if (edge.source_handle) return edge.source_handle;
  // A condition edge without a branch is a problem the server reports; draw it from the first.
  return source?.type === CONDITION_TYPE ? null : DEFAULT_HANDLE;
}

/** The `source_handle` of an edge drawn from a React Flow handle. */
export function sourceHandleOf(handleId: string | null | undefined, source: GraphNode): string | null {
  if (handleId === ERROR_HANDLE) return ERROR_HANDLE;
  if (source.type === CONDITION_TYPE) return handleId ?? null;
  return null;
}

/** A stable id for an edge (a graph never holds two edges with the same three parts). */
export function edgeId(edge: GraphEdge): string {
  return `e:${edge.source}:${edge.source_handle ?? ""}:${edge.target}`;
}

export function sameEdge(a: GraphEdge, b: GraphEdge): boolean {
  return a.source === b.source && a.target === b.target && (a.source_handle ?? null) === (b.source_handle ?? null);
}

// The server stores graphs with every default filled in; the editor compares in that form so
// a graph it loaded and one it built differ only when their meaning does.
const RETRY_DEFAULTS = { max_attempts: 1, initial_delay_ms: 1000, multiplier: 2, max_delay_ms: 300_000 };

function normalizeNode(node: GraphNode): GraphNode {
  return {
    id: node.id,
    type: node.type,
    name: node.name ?? null,
    position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
    config: node.config ?? {},
    credential_id: node.credential_id ?? null,
    retry: node.retry ? { ...RETRY_DEFAULTS, ...node.retry } : null,
    timeout_s: node.timeout_s ?? null,
    on_error: node.on_error ?? "fail",
  };
}

export function normalizeGraph(graph: WorkflowGraph): WorkflowGraph {
  return {
    name: graph.name,
    description: graph.description ?? null,
    settings: { max_concurrency: null, ...(graph.settings ?? {}) },
    nodes: graph.nodes.map(normalizeNode),
    edges: graph.edges.map((edge) => ({
      source: edge.source,
      target: edge.target,
      source_handle: edge.source_handle ?? null,
    })),
  };
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Equal for two graphs exactly when saving one over the other would change nothing. */
export function graphKey(graph: WorkflowGraph): string {
  return stableStringify(normalizeGraph(graph));
}

/** The graph of a WorkflowDetail (typed loosely by the API), with its arrays guaranteed. */
export function asWorkflowGraph(raw: Record<string, unknown>, fallbackName: string): WorkflowGraph {
  const nodes = Array.isArray(raw.nodes) ? (raw.nodes as GraphNode[]) : [];
  const edges = Array.isArray(raw.edges) ? (raw.edges as GraphEdge[]) : [];
  const name = typeof raw.name === "string" ? raw.name : fallbackName;
  return { ...(raw as Partial<WorkflowGraph>), name, nodes, edges };
}

export function updateNode(
  graph: WorkflowGraph,
  id: string,
  change: (node: GraphNode) => GraphNode,
): WorkflowGraph {
  return { ...graph, nodes: graph.nodes.map((node) => (node.id === id ? change(node) : node)) };
}

/** The graph without these nodes and edges, and without every edge touching a removed node. */
export function removeElements(
  graph: WorkflowGraph,
  nodeIds: readonly string[],
  edgeIds: readonly string[] = [],
): WorkflowGraph {
  const nodes = new Set(nodeIds);
  const edges = new Set(edgeIds);
  if (nodes.size === 0 && edges.size === 0) return graph;
  return {
    ...graph,
    nodes: graph.nodes.filter((node) => !nodes.has(node.id)),
    edges: graph.edges.filter(
      (edge) => !nodes.has(edge.source) && !nodes.has(edge.target) && !edges.has(edgeId(edge)),
    ),
  };
}

/** Move nodes; the same graph object when nothing moved (so no history entry is made). */
export function moveNodes(
  graph: WorkflowGraph,
  positions: ReadonlyMap<string, { x: number; y: number }>,
): WorkflowGraph {
  let moved = false;
  const nodes = graph.nodes.map((node) => {
    const to = positions.get(node.id);
    if (!to || (node.position && node.position.x === to.x && node.position.y === to.y)) return node;
    moved = true;
    return { ...node, position: { x: to.x, y: to.y } };
  });
  return moved ? { ...graph, nodes } : graph;
}

/**
 * When a condition's edit renames one branch (one gone, one new), its edges follow the rename;
 * any other change leaves edges alone (a missing branch then shows as such).
 */
export function followBranchRename(
  graph: WorkflowGraph,
  nodeId: string,
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
): WorkflowGraph {
  const old = conditionBranches(before);
  const now = conditionBranches(after);
  const gone = old.filter((branch) => !now.includes(branch));
  const added = now.filter((branch) => !old.includes(branch));
  if (gone.length !== 1 || added.length !== 1) return graph;
  const [from, to] = [gone[0], added[0]];
  if (!graph.edges.some((edge) => edge.source === nodeId && edge.source_handle === from)) return graph;
  return {
    ...graph,
    edges: graph.edges.map((edge) =>
      edge.source === nodeId && edge.source_handle === from ? { ...edge, source_handle: to } : edge,
    ),
  };
}
