// Autosave: PUT the whole graph ~800 ms after the last change, with the version it was edited
// from (a 409 means someone else saved). A refused graph (422) stays as the draft with its
// problems; a draft is backed up in localStorage until saved; leaving the page saves first.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, api, call, errorMessage, type GraphProblem } from "../api/client";
import type { WorkflowDetail, WorkflowGraph } from "../api/types";
import {
  AUTOSAVE_DELAY_MS,
  clearDraft,
  isDirty,
  RETRY_DELAY_MS,
  type SaveSnapshot,
  saveLabel,
  saveStateKind,
  shouldSave,
  writeDraft,
} from "./autosave";
import { graphKey, normalizeGraph } from "./graphModel";
import { mapProblems, NO_PROBLEMS, type ProblemMap } from "./problems";

interface Rejection {
  key: string;
  count: number;
  problems: GraphProblem[];
  map: ProblemMap;
}

export interface Conflict {
  message: string;
  latestVersion: number | null;
}

interface SaverOptions {
  workflowId: string;
  graph: WorkflowGraph;
  /** The version and graph the editor was loaded with. */
  loadedVersion: number;
  loadedGraph: WorkflowGraph;
  onSaved: (detail: WorkflowDetail) => void;
}

function putGraph(workflowId: string, graph: WorkflowGraph, expectedVersion: number, keepalive = false) {
  return call(
    api.PUT("/api/workflows/{workflow_id}", {
      params: { path: { workflow_id: workflowId }, query: { expected_version: expectedVersion } },
      body: { ...normalizeGraph(graph) },
      keepalive,
    }),
  );
}

function latestVersionOf(error: ApiError): number | null {
  const details = error.details as { latest_version?: unknown } | null;
  return typeof details?.latest_version === "number" ? details.latest_version : null;
}

export function useWorkflowSaver({ workflowId, graph, loadedVersion, loadedGraph, onSaved }: SaverOptions) {
  const currentKey = useMemo(() => graphKey(graph), [graph]);
  const [savedKey, setSavedKey] = useState(() => graphKey(loadedGraph));
  const [saving, setSaving] = useState(false);
  const [rejected, setRejected] = useState<Rejection | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  // The latest of everything, for saves that outlive the render that started them.
  const live = useRef({ graph, savedKey, version: loadedVersion, conflict, rejected, onSaved });
  useEffect(() => {
    Object.assign(live.current, { graph, savedKey, conflict, rejected, onSaved });
  });
  const inflight = useRef<Promise<boolean> | null>(null);

  const saveOnce = useCallback(async (): Promise<boolean> => {
    while (inflight.current) await inflight.current;
    const state = live.current;
    const sent = state.graph;
    const key = graphKey(sent);
    if (key === state.savedKey) return true;
    if (state.conflict || state.rejected?.key === key) return false;
    const attempt = (async () => {
      setSaving(true);
      try {
        const detail = await putGraph(workflowId, sent, state.version);
        Object.assign(live.current, { savedKey: key, version: detail.version, rejected: null });
        setSavedKey(key);
        setRejected(null);
        setFailure(null);
        if (graphKey(live.current.graph) === key) clearDraft(localStorage, workflowId);
        live.current.onSaved(detail);
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          const found = { message: error.message, latestVersion: latestVersionOf(error) };
          live.current.conflict = found;
          setConflict(found);
        } else if (error instanceof ApiError && error.status === 422 && error.problems.length > 0) {
          const found = { key, count: error.problems.length, problems: error.problems, map: mapProblems(error.problems, sent) };
          live.current.rejected = found;
          setRejected(found);
          setFailure(null);
        } else {
          setFailure(errorMessage(error));
        }
        return false;
      } finally {
        setSaving(false);
      }
    })();
    inflight.current = attempt;
    try {
      return await attempt;
    } finally {
      if (inflight.current === attempt) inflight.current = null;
    }
  }, [workflowId]);

  /** Save now if anything changed; true once the server holds the graph being edited. */
  const flush = useCallback(async (): Promise<boolean> => {
    // Edits made while a save was under way need one more round.
    for (let round = 0; round < 3; round += 1) {
      if (!(await saveOnce())) return false;
      if (graphKey(live.current.graph) === live.current.savedKey) return true;
    }
    return graphKey(live.current.graph) === live.current.savedKey;
  }, [saveOnce]);

  const snapshot: SaveSnapshot = {
    currentKey,
    savedKey,
    saving,
    rejected: rejected ? { key: rejected.key, count: rejected.count } : null,
    conflict: conflict !== null,
  };
  const dirty = isDirty(snapshot);
  const wantsSave = shouldSave(snapshot);

  // Debounce: every change restarts the wait; after a failure, wait longer before retrying.
  useEffect(() => {
    if (!wantsSave) return;
    const timer = setTimeout(() => void saveOnce(), failure ? RETRY_DELAY_MS : AUTOSAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [wantsSave, currentKey, failure, saveOnce]);

  // Keep unsaved work in this browser until the server has it.
  useEffect(() => {
    if (!dirty) return;
    writeDraft(localStorage, workflowId, {
      graph,
      baseVersion: live.current.version,
      savedAt: new Date().toISOString(),
    });
  }, [dirty, graph, workflowId]);

  // Closing the tab with unsaved work: the browser asks first.
  useEffect(() => {
    if (!dirty && !saving) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, saving]);

  // Leaving the editor, for another page of the app (unmount) or another site or a closed tab
  // (pagehide): send what is unsaved; keepalive lets the request outlive the page.
  useEffect(() => {
    const sendOnLeave = () => {
      const state = live.current;
      const key = graphKey(state.graph);
      if (key === state.savedKey || state.conflict || state.rejected?.key === key) return;
      state.savedKey = key; // sent once, whichever of the two events comes first
      void putGraph(workflowId, state.graph, state.version, true).then(
        () => clearDraft(localStorage, workflowId),
        () => undefined, // the localStorage draft is still there to restore
      );
    };
    window.addEventListener("pagehide", sendOnLeave);
    return () => {
      window.removeEventListener("pagehide", sendOnLeave);
      sendOnLeave();
    };
  }, [workflowId]);

  /** After a conflict: save this draft over the newer version anyway. */
  const overwrite = useCallback(() => {
    const latest = live.current.conflict?.latestVersion;
    if (latest) live.current.version = latest;
    live.current.conflict = null;
    setConflict(null);
  }, []);

  return {
    label: saveLabel(snapshot),
    kind: saveStateKind(snapshot),
    dirty,
    saving,
    problems: rejected?.map ?? NO_PROBLEMS,
    problemList: rejected?.problems ?? [],
    problemsAreCurrent: rejected?.key === currentKey,
    conflict,
    failure,
    flush,
    overwrite,
  };
}

export type WorkflowSaver = ReturnType<typeof useWorkflowSaver>;
