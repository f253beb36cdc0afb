// The decisions of autosave, without timers or requests: what the indicator says, whether a
// graph should be sent, and what to do with a draft this browser kept of an unsaved graph.
import type { WorkflowGraph } from "../api/types";
import { graphKey } from "./graphModel";

export const AUTOSAVE_DELAY_MS = 800;
export const RETRY_DELAY_MS = 5000;

export interface SaveSnapshot {
  /** graphKey of the graph being edited. */
  currentKey: string;
  /** graphKey of the graph the server holds (loaded or last saved). */
  savedKey: string;
  saving: boolean;
  /** graphKey of a graph the server refused (422) and its problem count. */
  rejected: { key: string; count: number } | null;
  /** Someone else saved meanwhile: nothing is sent until the person decides. */
  conflict: boolean;
}

export const isDirty = (s: SaveSnapshot) => s.currentKey !== s.savedKey;

/** Exactly one of "Saving…", "Saved", "Unsaved changes", "Not saved: N problems". */
export function saveLabel(s: SaveSnapshot): string {
  if (s.saving) return "Saving…";
  if (!isDirty(s)) return "Saved";
  if (s.rejected && s.rejected.key === s.currentKey) {
    return `Not saved: ${s.rejected.count} problem${s.rejected.count === 1 ? "" : "s"}`;
  }
  return "Unsaved changes";
}

export type SaveStateKind = "saving" | "saved" | "dirty" | "problems";

export function saveStateKind(s: SaveSnapshot): SaveStateKind {
  if (s.saving) return "saving";
  if (!isDirty(s)) return "saved";
  return s.rejected && s.rejected.key === s.currentKey ? "problems" : "dirty";
}

/**
 * Whether to send the graph now: it differs from what the server holds, no save is under way,
 * no conflict waits for a decision, and the server has not already refused this very graph.
 */
export function shouldSave(s: SaveSnapshot): boolean {
  return isDirty(s) && !s.saving && !s.conflict && s.rejected?.key !== s.currentKey;
}

// A draft of unsaved work, kept in localStorage so a closed tab or a crash loses nothing.
export interface DraftBackup {
  graph: WorkflowGraph;
  /** The server version the draft was edited from. */
  baseVersion: number;
  savedAt: string;
}

export const draftStorageKey = (workflowId: string) => `portico.draft.${workflowId}`;

export function readDraft(storage: Storage, workflowId: string): DraftBackup | null {
  let value: unknown;
  try {
    value = JSON.parse(storage.getItem(draftStorageKey(workflowId)) ?? "null");
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const draft = value as Partial<DraftBackup>;
  const graph = draft.graph;
  if (!graph || !Array.isArray(graph.nodes) || !Array.isArray(graph.edges)) return null;
  if (typeof draft.baseVersion !== "number" || typeof draft.savedAt !== "string") return null;
  return { graph, baseVersion: draft.baseVersion, savedAt: draft.savedAt };
}

export function writeDraft(storage: Storage, workflowId: string, draft: DraftBackup): void {
  try {
    storage.setItem(draftStorageKey(workflowId), JSON.stringify(draft));
  } catch {
    // Storage full or disabled: the backup is a convenience, the server copy is what counts.
  }
}

export function clearDraft(storage: Storage, workflowId: string): void {
  try {
    storage.removeItem(draftStorageKey(workflowId));
  } catch {
    // as above
  }
}

export type DraftOffer =
  | { kind: "none" }
  /** The draft is the same as the server's graph: nothing to offer, drop it. */
  | { kind: "discard" }
  /** The draft builds on the version the server has: restoring it loses nothing. */
  | { kind: "restore"; draft: DraftBackup }
  /** Someone saved a newer version since; restoring would overwrite it. */
  | { kind: "restoreStale"; draft: DraftBackup; serverVersion: number };

export function draftOffer(
  draft: DraftBackup | null,
  server: { graph: WorkflowGraph; version: number },
): DraftOffer {
  if (!draft) return { kind: "none" };
  if (graphKey(draft.graph) === graphKey(server.graph)) return { kind: "discard" };
  if (draft.baseVersion >= server.version) return { kind: "restore", draft };
  return { kind: "restoreStale", draft, serverVersion: server.version };
}
