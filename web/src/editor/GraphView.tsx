// A read-only drawing of a workflow graph with the editor's node cards and run colours (for the
// execution view): nodes can be clicked to select them, nothing can be moved or connected.
import { useEffect, useMemo } from "react";
import {
  Background,
  Controls,
  type NodeChange,
  ReactFlow,
  ReactFlowProvider,
  useNodesInitialized,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./editor.css";
import type { NodeTypeView, WorkflowGraph } from "../api/types";
import type { NodeRunState } from "../live/types";
import type { PorticoFlowNode } from "./flowModel";
import { catalogueMap } from "./graphModel";
import { NODE_TYPES } from "./NodeCard";
import { useFlowElements } from "./useFlowElements";

export interface GraphViewProps {
  graph: WorkflowGraph;
  catalogue: NodeTypeView[];
  runNodes?: Record<string, NodeRunState>;
  selectedNodeId?: string | null;
  onSelectNode?: (id: string | null) => void;
  height?: number | string;
}

export function GraphView(props: GraphViewProps) {
  return (
    <div className="graph-view" style={{ height: props.height ?? 420 }} data-testid="graph-view">
      <ReactFlowProvider>
        <ReadOnlyFlow {...props} />
      </ReactFlowProvider>
    </div>
  );
}

function ReadOnlyFlow({ graph, catalogue, runNodes, selectedNodeId, onSelectNode }: GraphViewProps) {
  const types = useMemo(() => catalogueMap(catalogue), [catalogue]);
  const selectedNodes = useMemo(
    () => new Set(selectedNodeId ? [selectedNodeId] : []),
    [selectedNodeId],
  );
  const { nodes, edges, takeDimensions } = useFlowElements(graph, types, {
    runNodes: runNodes ?? null,
    selectedNodes,
    readOnly: true,
  });
  return (
    <ReactFlow<PorticoFlowNode>
      nodes={nodes}
      edges={edges}
      nodeTypes={NODE_TYPES}
      onNodesChange={(changes: NodeChange<PorticoFlowNode>[]) => takeDimensions(changes)}
      onNodeClick={(_, node) => onSelectNode?.(node.id)}
      onPaneClick={() => onSelectNode?.(null)}
      nodesDraggable={false}
      nodesConnectable={false}
      edgesFocusable={false}
      deleteKeyCode={null}
      fitView
      minZoom={0.2}
      proOptions={{ hideAttribution: true }}
    >
      <FitWhenNodesChange nodeIds={graph.nodes.map((node) => node.id).join(",")} />
      <Background gap={16} />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}

/** Fit the view again once a different graph's nodes have been measured. */
function FitWhenNodesChange({ nodeIds }: { nodeIds: string }) {
  const { fitView } = useReactFlow();
  const initialized = useNodesInitialized();
  useEffect(() => {
    if (initialized) void fitView({ padding: 0.15, maxZoom: 1.2 });
  }, [initialized, nodeIds, fitView]);
  return null;
}
