// The editor of one loaded workflow: the graph lives in an undo history; the canvas, palette,
// panel and shortcuts change it; autosave sends it; the run panel colours it.
import { useCallback, useMemo, useReducer, useRef, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import "./editor.css";
import { errorMessage } from "../api/client";
import type { GraphNode, NodeTypeView, WorkflowDetail, WorkflowGraph } from "../api/types";
import type { RunState } from "../live/types";
import { RunPanel } from "../run/RunPanel";
import { clearDraft, type DraftOffer, draftOffer, readDraft } from "./autosave";
import { Canvas, EMPTY_SELECTION, type Selection } from "./Canvas";
import { copyNodes, parseClipboard, pasteNodes, serializeClipboard } from "./clipboard";
import { EditorBanners } from "./EditorBanners";
import { EditorHeader } from "./EditorHeader";
import { exportWorkflow, setWorkflowActive } from "../workflows/api";
import { downloadJson, exportFileName } from "../workflows/files";
import {
  asWorkflowGraph,
  catalogueMap,
  edgeId,
  findNode,
  followBranchRename,
  removeElements,
  updateNode,
} from "./graphModel";
import { canRedo, canUndo, createHistory, type GraphUpdate, historyReducer } from "./history";
import { renameNode } from "./ids";
import { createNode, freeSpot } from "./newNode";
import { type NodeEdits, NodePanel } from "./NodePanel";
import { Palette } from "./Palette";
import { problemMessages } from "./problems";
import { useCredentials } from "./useCredentials";
import { useEditorShortcuts } from "./useEditorShortcuts";
import { useWorkflowSaver } from "./useWorkflowSaver";

interface WorkflowEditorProps {
  detail: WorkflowDetail;
  types: NodeTypeView[];
  onReload: () => void;
}

const CARD_HALF = { x: 95, y: 28 };

/** The selection without what no longer exists (after an undo, a delete, a rename). */
function liveSelection(selection: Selection, graph: WorkflowGraph): Selection {
  const nodes = selection.nodes.filter((id) => findNode(graph, id));
  const edgeIds = new Set(graph.edges.map(edgeId));
  const edges = selection.edges.filter((id) => edgeIds.has(id));
  return nodes.length === selection.nodes.length && edges.length === selection.edges.length
    ? selection
    : { nodes, edges };
}

export function WorkflowEditor({ detail, types, onReload }: WorkflowEditorProps) {
  const workflowId = detail.id;
  const loadedGraph = useMemo(() => asWorkflowGraph(detail.graph, detail.name), [detail]);
  const catalogue = useMemo(() => catalogueMap(types), [types]);
  const [history, dispatch] = useReducer(historyReducer, loadedGraph, createHistory);
  const graph = history.present;
  const [rawSelection, setSelection] = useState<Selection>(EMPTY_SELECTION);
  const selection = useMemo(() => liveSelection(rawSelection, graph), [rawSelection, graph]);
  const [run, setRun] = useState<RunState | null>(null);
  const [active, setActive] = useState(detail.active);
  const [activeBusy, setActiveBusy] = useState(false);
  const [exportBusy, setExportBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [offer, setOffer] = useState<DraftOffer>(() => {
    const found = draftOffer(readDraft(localStorage, workflowId), { graph: loadedGraph, version: detail.version });
    if (found.kind === "discard") clearDraft(localStorage, workflowId);
    return found;
  });
  const containerRef = useRef<HTMLDivElement>(null);
  const pasteCount = useRef({ text: "", count: 0 });
  const { screenToFlowPosition, fitView } = useReactFlow();
  const credentials = useCredentials();
  const saver = useWorkflowSaver({
    workflowId,
    graph,
    loadedVersion: detail.version,
    loadedGraph,
    onSaved: (saved) => setActive(saved.active),
  });

  const change = useCallback(
    (update: GraphUpdate, coalesceKey?: string) =>
      dispatch({ type: "change", graph: update, coalesceKey, now: Date.now() }),
    [],
  );
  const preview = useCallback((update: GraphUpdate) => dispatch({ type: "preview", graph: update }), []);
  const commitPreview = useCallback(() => dispatch({ type: "commitPreview" }), []);

  const addNode = useCallback(
    (typeName: string, position: { x: number; y: number }) => {
      const type = catalogue.get(typeName);
      if (!type) return;
      const node = createNode(type, graph, freeSpot(graph, position));
      change((present) => ({ ...present, nodes: [...present.nodes, node] }));
      setSelection({ nodes: [node.id], edges: [] });
    },
    [catalogue, graph, change],
  );

  const addAtCentre = (typeName: string) => {
    const box = containerRef.current?.getBoundingClientRect();
    if (!box) return;
    const centre = screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
    addNode(typeName, { x: centre.x - CARD_HALF.x, y: centre.y - CARD_HALF.y });
  };

  const deleteSelection = useCallback(() => {
    if (selection.nodes.length === 0 && selection.edges.length === 0) return;
    change((present) => removeElements(present, selection.nodes, selection.edges));
    setSelection(EMPTY_SELECTION);
  }, [selection, change]);

  const paste = (candidates: (string | null)[]) => {
    for (const text of candidates) {
      const payload = text ? parseClipboard(text) : null;
      if (!payload || !text) continue;
      // Pasting the same nodes again steps further away, so copies do not stack.
      const count = pasteCount.current.text === text ? pasteCount.current.count + 1 : 1;
      pasteCount.current = { text, count };
      const result = pasteNodes(graph, payload, { x: 40 * count, y: 40 * count });
      change(result.graph);
      setSelection({ nodes: result.pastedIds, edges: [] });
      return;
    }
  };

  useEditorShortcuts({
    undo: () => dispatch({ type: "undo" }),
    redo: () => dispatch({ type: "redo" }),
    deleteSelection,
    selectAll: () => setSelection({ nodes: graph.nodes.map((node) => node.id), edges: [] }),
    copy: () => {
      const payload = copyNodes(graph, selection.nodes);
      return payload ? serializeClipboard(payload) : null;
    },
    paste,
  });

  const edits: NodeEdits = useMemo(
    () => ({
      rename: (from, to) => {
        change((present) => renameNode(present, from, to));
        setSelection({ nodes: [to], edges: [] });
      },
      update: (id, field, patch: Partial<GraphNode>) =>
        change((present) => updateNode(present, id, (node) => ({ ...node, ...patch })), `${field}:${id}`),
      setConfig: (id, config) =>
        change((present) => {
          const before = findNode(present, id)?.config;
          const updated = updateNode(present, id, (node) => ({ ...node, config }));
          return followBranchRename(updated, id, before, config);
        }, `config:${id}`),
      deleteSelection,
    }),
    [change, deleteSelection],
  );

  const showNode = (nodeId: string) => {
    if (!findNode(graph, nodeId)) return;
    setSelection({ nodes: [nodeId], edges: [] });
    void fitView({ nodes: [{ id: nodeId }], maxZoom: 1.2, duration: 300 });
  };

  const toggleActive = async () => {
    setActiveBusy(true);
    setNotice(null);
    try {
      if (!active && !(await saver.flush())) {
        setNotice("The workflow is not saved, so it was not activated: fix what the save indicator lists first.");
        return;
      }
      const updated = await setWorkflowActive(workflowId, !active);
      setActive(updated.active);
    } catch (error) {
      setNotice(`Could not ${active ? "deactivate" : "activate"}: ${errorMessage(error)}`);
    } finally {
      setActiveBusy(false);
    }
  };

  const exportToFile = async () => {
    setExportBusy(true);
    setNotice(null);
    try {
      await saver.flush();
      downloadJson(exportFileName(graph.name), await exportWorkflow(workflowId));
    } catch (error) {
      setNotice(`Could not export: ${errorMessage(error)}`);
    } finally {
      setExportBusy(false);
    }
  };

  const problemsByNode = useMemo(() => problemMessages(saver.problems), [saver.problems]);
  const nothingSelected = selection.nodes.length === 0 && selection.edges.length === 0;
  const toolbar = (
    <>
      <button type="button" data-testid="undo-button" title="Undo (Ctrl/⌘+Z)" disabled={!canUndo(history)} onClick={() => dispatch({ type: "undo" })}>
        ↶ Undo
      </button>
      <button type="button" data-testid="redo-button" title="Redo (Ctrl/⌘+Shift+Z)" disabled={!canRedo(history)} onClick={() => dispatch({ type: "redo" })}>
        ↷ Redo
      </button>
      <button type="button" data-testid="fit-view-button" title="Show the whole workflow" onClick={() => void fitView({ padding: 0.2, maxZoom: 1, duration: 300 })}>
        ⤢ Fit
      </button>
      <button type="button" data-testid="delete-selection-button" title="Delete the selection (Delete)" disabled={nothingSelected} onClick={deleteSelection}>
        ✕ Delete
      </button>
    </>
  );

  return (
    <div className="editor" data-testid="editor">
      <EditorHeader
        workflowId={workflowId}
        name={graph.name}
        onRename={(name) => change((present) => ({ ...present, name }), "workflow-name")}
        save={{ label: saver.label, kind: saver.kind, problems: saver.problemList, onShowNode: showNode }}
        active={active}
        activeBusy={activeBusy}
        onToggleActive={() => void toggleActive()}
        exportBusy={exportBusy}
        onExport={() => void exportToFile()}
      />
      <EditorBanners
        offer={offer}
        onRestore={(draft) => {
          change(draft.graph);
          setOffer({ kind: "none" });
        }}
        onDiscard={() => {
          clearDraft(localStorage, workflowId);
          setOffer({ kind: "none" });
        }}
        conflict={saver.conflict}
        onReload={onReload}
        onOverwrite={saver.overwrite}
        failure={saver.failure}
        notice={notice}
        onDismissNotice={() => setNotice(null)}
      />
      <div className="editor-body">
        <Palette types={types} onAdd={addAtCentre} />
        <div className="editor-canvas-column">
          <Canvas
            graph={graph}
            catalogue={catalogue}
            runNodes={run?.nodes ?? null}
            problems={problemsByNode}
            selection={selection}
            onSelectionChange={setSelection}
            onChange={change}
            onPreview={preview}
            onCommitPreview={commitPreview}
            onDropType={addNode}
            containerRef={containerRef}
            toolbar={toolbar}
          />
          <div className="editor-run-dock">
            <RunPanel workflowId={workflowId} ensureSaved={saver.flush} onRunChange={setRun} />
          </div>
        </div>
        <NodePanel
          graph={graph}
          catalogue={catalogue}
          selection={selection}
          problems={saver.problems}
          credentials={credentials}
          edits={edits}
        />
      </div>
    </div>
  );
}
