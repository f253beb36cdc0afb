// Undo/redo over whole graph snapshots. Two things are coalesced so one undo undoes what a
// person thinks of as one change: a drag (many previews, one entry when the drag ends) and a
// run of edits to the same field (typing a URL), grouped by a key within a short window.
import type { WorkflowGraph } from "../api/types";

export const HISTORY_LIMIT = 100;
export const COALESCE_WINDOW_MS = 1500;

export interface History {
  past: WorkflowGraph[];
  present: WorkflowGraph;
  future: WorkflowGraph[];
  /** The graph before a preview (a drag in progress) started; null when none is. */
  previewBase: WorkflowGraph | null;
  lastKey: string | null;
  lastAt: number;
}

/** A new graph, or how to make it from the present one (never from a stale render's copy). */
export type GraphUpdate = WorkflowGraph | ((present: WorkflowGraph) => WorkflowGraph);

export type HistoryAction =
  | { type: "change"; graph: GraphUpdate; coalesceKey?: string; now: number }
  | { type: "preview"; graph: GraphUpdate }
  | { type: "commitPreview" }
  | { type: "undo" }
  | { type: "redo" }
  | { type: "reset"; graph: WorkflowGraph };

export function createHistory(graph: WorkflowGraph): History {
  return { past: [], present: graph, future: [], previewBase: null, lastKey: null, lastAt: 0 };
}

const apply = (update: GraphUpdate, present: WorkflowGraph) =>
  typeof update === "function" ? update(present) : update;

function pushed(past: WorkflowGraph[], graph: WorkflowGraph): WorkflowGraph[] {
  const next = [...past, graph];
  return next.length > HISTORY_LIMIT ? next.slice(next.length - HISTORY_LIMIT) : next;
}

/** Finish a preview first, so whatever follows builds on a recorded state. */
function settled(history: History): History {
  return history.previewBase ? historyReducer(history, { type: "commitPreview" }) : history;
}

export function historyReducer(history: History, action: HistoryAction): History {
  switch (action.type) {
    case "change": {
      const base = settled(history);
      const graph = apply(action.graph, base.present);
      if (graph === base.present) return base;
      const coalesce =
        action.coalesceKey !== undefined &&
        action.coalesceKey === base.lastKey &&
        action.now - base.lastAt < COALESCE_WINDOW_MS &&
        base.past.length > 0;
      return {
        past: coalesce ? base.past : pushed(base.past, base.present),
        present: graph,
        future: [],
        previewBase: null,
        lastKey: action.coalesceKey ?? null,
        lastAt: action.now,
      };
    }
    case "preview": {
      const graph = apply(action.graph, history.present);
      if (graph === history.present) return history;
      return { ...history, present: graph, previewBase: history.previewBase ?? history.present };
    }
    case "commitPreview": {
      const base = history.previewBase;
      if (!base) return history;
      return {
        ...history,
        past: pushed(history.past, base),
        future: [],
        previewBase: null,
        lastKey: null,
      };
    }
    case "undo": {
      const base = settled(history);
      const previous = base.past[base.past.length - 1];
      if (!previous) return base;
      return {
        past: base.past.slice(0, -1),
        present: previous,
        future: [base.present, ...base.future],
        previewBase: null,
        lastKey: null,
        lastAt: 0,
      };
    }
    case "redo": {
      const base = settled(history);
      const [next, ...rest] = base.future;
      if (!next) return base;
      return {
        past: pushed(base.past, base.present),
        present: next,
        future: rest,
        previewBase: null,
        lastKey: null,
        lastAt: 0,
      };
    }
    case "reset":
      return createHistory(action.graph);
  }
}

export const canUndo = (history: History) => history.past.length > 0 || history.previewBase !== null;
export const canRedo = (history: History) => history.future.length > 0;
