// React Flow nodes and edges derived from the graph. React Flow measures each node and reports
// the size as a change; a controlled flow must hand the size back on the node (`measured`), and
// unchanged nodes keep their object so React Flow does not redraw them.
import { useCallback, useMemo, useRef, useState } from "react";
import type { NodeChange } from "@xyflow/react";
import type { WorkflowGraph } from "../api/types";
import { type FlowDecorations, type PorticoFlowNode, toFlowEdges, toFlowNode } from "./flowModel";
import type { Catalogue } from "./graphModel";

type Size = { width: number; height: number };

export function sameFlowNode(a: PorticoFlowNode, b: PorticoFlowNode): boolean {
  const [x, y] = [a.data, b.data];
  return (
    a.position.x === b.position.x &&
    a.position.y === b.position.y &&
    a.selected === b.selected &&
    a.measured?.width === b.measured?.width &&
    a.measured?.height === b.measured?.height &&
    x.node === y.node &&
    x.nodeType === y.nodeType &&
    x.run === y.run &&
    x.problems === y.problems &&
    x.readOnly === y.readOnly &&
    x.hasTarget === y.hasTarget &&
    x.handles.map((h) => `${h.kind}:${h.id}`).join("|") === y.handles.map((h) => `${h.kind}:${h.id}`).join("|")
  );
}

export function useFlowElements(
  graph: WorkflowGraph,
  catalogue: Catalogue,
  decorations: Omit<FlowDecorations, "measured">,
) {
  const [measured, setMeasured] = useState<ReadonlyMap<string, Size>>(() => new Map());
  const previous = useRef(new Map<string, PorticoFlowNode>());
  const { runNodes, problems, selectedNodes, selectedEdges, readOnly } = decorations;

  const nodes = useMemo(() => {
    const all = { runNodes, problems, selectedNodes, measured, readOnly };
    const next = new Map<string, PorticoFlowNode>();
    const list = graph.nodes.map((node) => {
      const fresh = toFlowNode(node, graph, catalogue, all);
      const old = previous.current.get(node.id);
      const kept = old && sameFlowNode(old, fresh) ? old : fresh;
      next.set(node.id, kept);
      return kept;
    });
    previous.current = next;
    return list;
  }, [graph, catalogue, runNodes, problems, selectedNodes, measured, readOnly]);

  const edges = useMemo(
    () => toFlowEdges(graph, { runNodes, selectedEdges, readOnly }),
    [graph, runNodes, selectedEdges, readOnly],
  );

  /** Take the sizes out of a batch of node changes; the rest is the caller's to handle. */
  const takeDimensions = useCallback((changes: NodeChange<PorticoFlowNode>[]) => {
    const sized = changes.filter(
      (change): change is Extract<NodeChange<PorticoFlowNode>, { type: "dimensions" }> =>
        change.type === "dimensions" && change.dimensions !== undefined,
    );
    if (sized.length === 0) return;
    setMeasured((current) => {
      const next = new Map(current);
      for (const change of sized) if (change.dimensions) next.set(change.id, change.dimensions);
      return next;
    });
  }, []);

  return { nodes, edges, takeDimensions };
}
