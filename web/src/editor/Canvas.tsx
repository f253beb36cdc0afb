// The editable canvas. The graph (in the editor's history) is the only truth: React Flow gets
// nodes and edges derived from it and reports what the person did, which becomes a change of
// the graph (a drag is previewed while it lasts and recorded once when it ends).
import { type DragEvent, type ReactNode, type RefObject, useCallback, useMemo, useState } from "react";
import {
  Background,
  type Connection,
  Controls,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  MiniMap,
  type NodeChange,
  Panel,
  ReactFlow,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { WorkflowGraph } from "../api/types";
import type { NodeRunState } from "../live/types";
import { connectionProblem, edgeFromConnection } from "./connections";
import type { PorticoFlowNode } from "./flowModel";
import { type Catalogue, moveNodes } from "./graphModel";
import type { GraphUpdate } from "./history";
import { NODE_TYPES } from "./NodeCard";
import { PALETTE_MIME } from "./Palette";
import { useFlowElements } from "./useFlowElements";

export interface Selection {
  nodes: readonly string[];
  edges: readonly string[];
}

export const EMPTY_SELECTION: Selection = { nodes: [], edges: [] };

interface CanvasProps {
  graph: WorkflowGraph;
  catalogue: Catalogue;
  runNodes: Record<string, NodeRunState> | null;
  problems: Readonly<Record<string, readonly string[]>>;
  selection: Selection;
  onSelectionChange: (selection: Selection) => void;
  onChange: (update: GraphUpdate) => void;
  onPreview: (update: GraphUpdate) => void;
  onCommitPreview: () => void;
  onDropType: (typeName: string, position: { x: number; y: number }) => void;
  containerRef: RefObject<HTMLDivElement | null>;
  toolbar: ReactNode;
}

/** The change a batch of select changes makes to a selection list. */
export function applySelectChanges(
  current: readonly string[],
  changes: readonly ({ type: "select"; id: string; selected: boolean } | { type: string })[],
): readonly string[] {
  const chosen = new Set(current);
  let touched = false;
  for (const change of changes) {
    if (!isSelectChange(change)) continue;
    touched = true;
    if (change.selected) chosen.add(change.id);
    else chosen.delete(change.id);
  }
  return touched ? [...chosen] : current;
}

function isSelectChange(change: { type: string }): change is { type: "select"; id: string; selected: boolean } {
  return change.type === "select";
}

function sameList(a: readonly string[], b: readonly string[]) {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

export function Canvas(props: CanvasProps) {
  const { graph, catalogue, selection, onSelectionChange, onChange, onPreview, onCommitPreview } = props;
  const { screenToFlowPosition } = useReactFlow();
  const [hint, setHint] = useState<string | null>(null);
  const selectedNodes = useMemo(() => new Set(selection.nodes), [selection.nodes]);
  const selectedEdges = useMemo(() => new Set(selection.edges), [selection.edges]);
  const { nodes, edges, takeDimensions } = useFlowElements(graph, catalogue, {
    runNodes: props.runNodes,
    problems: props.problems,
    selectedNodes,
    selectedEdges,
    readOnly: false,
  });

  const onNodesChange = useCallback(
    (changes: NodeChange<PorticoFlowNode>[]) => {
      takeDimensions(changes);
      const chosen = applySelectChanges(selection.nodes, changes);
      if (!sameList(chosen, selection.nodes)) onSelectionChange({ ...selection, nodes: chosen });
      const positions = new Map<string, { x: number; y: number }>();
      let ended = false;
      for (const change of changes) {
        if (change.type !== "position") continue;
        if (change.position) positions.set(change.id, change.position);
        if (change.dragging === false) ended = true;
      }
      if (positions.size > 0) onPreview((present) => moveNodes(present, positions));
      if (ended) {
        // One history entry for the whole drag.
        onPreview(roundPositions);
        onCommitPreview();
      }
    },
    [takeDimensions, selection, onSelectionChange, onPreview, onCommitPreview],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<Edge>[]) => {
      const chosen = applySelectChanges(selection.edges, changes);
      if (!sameList(chosen, selection.edges)) onSelectionChange({ ...selection, edges: chosen });
    },
    [selection, onSelectionChange],
  );

  const isValidConnection = useCallback(
    (connection: Connection | Edge) => connectionProblem(graph, catalogue, connection) === null,
    [graph, catalogue],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      onChange((present) => {
        const edge = edgeFromConnection(present, connection);
        if (!edge || connectionProblem(present, catalogue, connection) !== null) return present;
        return { ...present, edges: [...present.edges, edge] };
      });
    },
    [onChange, catalogue],
  );

  // A refused connection says why, for a moment, instead of silently snapping back.
  const onConnectEnd = useCallback(
    (_: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid !== false || !state.fromNode || !state.toNode) return;
      const fromSource = state.fromHandle?.type !== "target";
      const attempt = fromSource
        ? { source: state.fromNode.id, target: state.toNode.id, sourceHandle: state.fromHandle?.id ?? null }
        : { source: state.toNode.id, target: state.fromNode.id, sourceHandle: state.toHandle?.id ?? null };
      const problem = connectionProblem(graph, catalogue, attempt);
      if (!problem) return;
      setHint(problem);
      setTimeout(() => setHint((current) => (current === problem ? null : current)), 3000);
    },
    [graph, catalogue],
  );

  const onDragOver = (event: DragEvent) => {
    if (!event.dataTransfer.types.includes(PALETTE_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  };
  const onDrop = (event: DragEvent) => {
    const typeName = event.dataTransfer.getData(PALETTE_MIME);
    if (!typeName) return;
    event.preventDefault();
    const at = screenToFlowPosition({ x: event.clientX, y: event.clientY });
    // The card's middle under the pointer, not its corner.
    props.onDropType(typeName, { x: at.x - 95, y: at.y - 28 });
  };

  return (
    <div
      className="editor-canvas"
      ref={props.containerRef}
      onDragOver={onDragOver}
      onDrop={onDrop}
      data-testid="canvas"
    >
      <ReactFlow<PorticoFlowNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        deleteKeyCode={null}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
      >
        <Panel position="top-left" className="canvas-toolbar">
          {props.toolbar}
        </Panel>
        {hint && (
          <Panel position="top-center" className="canvas-hint" data-testid="connection-hint">
            {hint}
          </Panel>
        )}
        <Background gap={16} />
        <MiniMap pannable zoomable nodeStrokeWidth={3} style={{ width: 150, height: 96 }} />
        <Controls />
      </ReactFlow>
      {graph.nodes.length === 0 && (
        <div className="canvas-empty">
          <div>
            <strong>An empty workflow</strong>
            <p>Drag a trigger from the left onto the canvas (or click it) to begin.</p>
          </div>
        </div>
      )}
    </div>
  );
}

/** Whole pixels for every node a drag left between them (what the saved graph holds). */
export function roundPositions(graph: WorkflowGraph): WorkflowGraph {
  const rounded = new Map<string, { x: number; y: number }>();
  for (const node of graph.nodes) {
    const at = node.position;
    if (at && (!Number.isInteger(at.x) || !Number.isInteger(at.y))) {
      rounded.set(node.id, { x: Math.round(at.x), y: Math.round(at.y) });
    }
  }
  return moveNodes(graph, rounded);
}
