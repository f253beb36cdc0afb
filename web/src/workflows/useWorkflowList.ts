// The workflow list: one page per search, "load more" for the next, and local edits (a
// toggle, a rename, a delete) applied without fetching everything again.
import { useCallback, useEffect, useReducer, useState } from "react";
import { errorMessage } from "../api/client";
import type { WorkflowSummary } from "../api/types";
import { listWorkflows } from "./api";
import type { WorkflowPage } from "./api";

export interface ListState {
  /** The search the items answer ("" for all). */
  query: string;
  items: WorkflowSummary[];
  total: number;
  status: "loading" | "ready" | "error";
  error: string | null;
  loadingMore: boolean;
  /** Whether any answer has arrived yet (before it, the page shows a loading state). */
  loaded: boolean;
}

export type ListAction =
  | { type: "request"; query: string; append: boolean }
  | { type: "receive"; query: string; page: WorkflowPage; append: boolean }
  | { type: "fail"; query: string; error: string; append: boolean }
  | { type: "patch"; id: string; patch: Partial<WorkflowSummary> }
  | { type: "remove"; id: string };

export function initialListState(query: string): ListState {
  return {
    query,
    items: [],
    total: 0,
    status: "loading",
    error: null,
    loadingMore: false,
    loaded: false,
  };
}

export function listReducer(state: ListState, action: ListAction): ListState {
  switch (action.type) {
    case "request":
      if (action.append) return { ...state, loadingMore: true, error: null };
      // The rows of the previous search stay until the new ones arrive (no flicker).
      return { ...state, query: action.query, status: "loading", error: null, loadingMore: false };
    case "receive": {
      if (action.query !== state.query) return state; // an answer to an older search
      const { items, total } = action.page;
      if (!action.append) {
        return { ...state, items, total, status: "ready", error: null, loaded: true };
      }
      const known = new Set(state.items.map((item) => item.id));
      // A workflow saved meanwhile shifts the pages: skip the ones already shown.
      const fresh = items.filter((item) => !known.has(item.id));
      return { ...state, items: [...state.items, ...fresh], total, loadingMore: false };
    }
    case "fail":
      if (action.query !== state.query) return state;
      if (action.append) return { ...state, loadingMore: false, error: action.error };
      return { ...state, status: "error", error: action.error };
    case "patch":
      return {
        ...state,
        items: state.items.map((item) =>
          item.id === action.id ? { ...item, ...action.patch } : item,
        ),
      };
    case "remove": {
      const items = state.items.filter((item) => item.id !== action.id);
      const removed = state.items.length - items.length;
      return { ...state, items, total: Math.max(0, state.total - removed) };
    }
  }
}

export interface WorkflowList {
  state: ListState;
  reload: () => void;
  loadMore: () => void;
  patch: (id: string, patch: Partial<WorkflowSummary>) => void;
  remove: (id: string) => void;
}

export function useWorkflowList(query: string): WorkflowList {
  const [state, dispatch] = useReducer(listReducer, query, initialListState);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    dispatch({ type: "request", query, append: false });
    listWorkflows(query, 0, controller.signal).then(
      (page) => dispatch({ type: "receive", query, page, append: false }),
      (error: unknown) => {
        if (!controller.signal.aborted) {
          dispatch({ type: "fail", query, error: errorMessage(error), append: false });
        }
      },
    );
    return () => controller.abort();
  }, [query, reloads]);

  const offset = state.items.length;
  const loadMore = useCallback(() => {
    dispatch({ type: "request", query, append: true });
    listWorkflows(query, offset).then(
      (page) => dispatch({ type: "receive", query, page, append: true }),
      (error: unknown) =>
        dispatch({ type: "fail", query, error: errorMessage(error), append: true }),
    );
  }, [query, offset]);

  return {
    state,
    reload: useCallback(() => setReloads((count) => count + 1), []),
    loadMore,
    patch: useCallback((id, patch) => dispatch({ type: "patch", id, patch }), []),
    remove: useCallback((id) => dispatch({ type: "remove", id }), []),
  };
}
