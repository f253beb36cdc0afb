// The graph as React Flow draws it: one "portico" node per graph node, one edge per graph edge,
// with the handle ids of graphModel.ts. Pure, so the canvas and the read-only view agree.
import type { Edge, Node } from "@xyflow/react";
import type { GraphNode, NodeTypeView, WorkflowGraph } from "../api/types";
import type { NodeRunState } from "../live/types";
import {
  type Catalogue,
  ERROR_HANDLE,
  edgeId,
  findNode,
  flowHandleOf,
  isTriggerType,
  type SourceHandleSpec,
  sourceHandles,
} from "./graphModel";

export const PORTICO_NODE = "portico";

export type PorticoNodeData = {
  node: GraphNode;
  nodeType: NodeTypeView | null;
  handles: SourceHandleSpec[];
  /** Triggers take no incoming edge, so they have no target handle. */
  hasTarget: boolean;
  run: NodeRunState | null;
  /** Messages of the last save's problems on this node. */
  problems: readonly string[];
  readOnly: boolean;
};

export type PorticoFlowNode = Node<PorticoNodeData, typeof PORTICO_NODE>;

export interface FlowDecorations {
  runNodes?: Record<string, NodeRunState> | null;
  problems?: Readonly<Record<string, readonly string[]>>;
  selectedNodes?: ReadonlySet<string>;
  selectedEdges?: ReadonlySet<string>;
  measured?: ReadonlyMap<string, { width: number; height: number }>;
  readOnly?: boolean;
}

const NO_PROBLEMS: readonly string[] = [];

export function toFlowNode(
  node: GraphNode,
  graph: WorkflowGraph,
  catalogue: Catalogue,
  decorations: FlowDecorations = {},
): PorticoFlowNode {
  const measured = decorations.measured?.get(node.id);
  const readOnly = decorations.readOnly ?? false;
  return {
    id: node.id,
    type: PORTICO_NODE,
    position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
    data: {
      node,
      nodeType: catalogue.get(node.type) ?? null,
      handles: sourceHandles(node, catalogue, graph.edges),
      hasTarget: !isTriggerType(node.type, catalogue),
      run: decorations.runNodes?.[node.id] ?? null,
      problems: decorations.problems?.[node.id] ?? NO_PROBLEMS,
      readOnly,
    },
    selected: decorations.selectedNodes?.has(node.id) ?? false,
    draggable: !readOnly,
    connectable: !readOnly,
    deletable: false, // the editor deletes through its own history, never React Flow's
    ...(measured ? { measured } : {}),
  };
}

export function toFlowNodes(
  graph: WorkflowGraph,
  catalogue: Catalogue,
  decorations: FlowDecorations = {},
): PorticoFlowNode[] {
  return graph.nodes.map((node) => toFlowNode(node, graph, catalogue, decorations));
}

export function toFlowEdges(graph: WorkflowGraph, decorations: FlowDecorations = {}): Edge[] {
  return graph.edges.map((edge) => {
    const id = edgeId(edge);
    const isError = edge.source_handle === ERROR_HANDLE;
    const targetRun = decorations.runNodes?.[edge.target];
    return {
      id,
      source: edge.source,
      target: edge.target,
      sourceHandle: flowHandleOf(edge, findNode(graph, edge.source)),
      targetHandle: null,
      className: isError ? "portico-edge-error" : undefined,
      animated: targetRun?.status === "running",
      selected: decorations.selectedEdges?.has(id) ?? false,
      deletable: false,
      selectable: !(decorations.readOnly ?? false),
    };
  });
}
