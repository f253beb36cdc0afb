// The executions list as it changes: pages loaded, snapshots and events merged in. Pure.
import type { ExecutionDetail, ExecutionStatus, ExecutionSummary, StatusEvent } from "../api/types";

export type StatusFilter = ExecutionStatus | null;

export const STATUS_FILTERS: ExecutionStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];

export function matchesFilter(row: Pick<ExecutionSummary, "status">, filter: StatusFilter): boolean {
  return filter === null || row.status === filter;
}

function newestFirst(a: ExecutionSummary, b: ExecutionSummary): number {
  const byTime = Date.parse(b.created_at) - Date.parse(a.created_at);
  return byTime !== 0 ? byTime : b.id.localeCompare(a.id);
}

/**
 * Merge rows into the list: one row per id (the copy further on, by last_seq), newest first.
 * New rows join only if they pass the filter and are not older than `floor` (the oldest row
 * loaded while more pages remain: older ones come with "Load more", in page order). Rows
 * already shown are updated whatever their status has become (a row does not vanish from
 * under the reader's cursor).
 */
export function mergeRows(
  rows: ExecutionSummary[],
  incoming: ExecutionSummary[],
  filter: StatusFilter,
  floor: string | null = null,
): ExecutionSummary[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const oldest = floor === null ? -Infinity : Date.parse(floor);
  let changed = false;
  for (const row of incoming) {
    const known = byId.get(row.id);
    if (known ? row.last_seq < known.last_seq : !joins(row, filter, oldest)) continue;
    if (known && sameRow(known, row)) continue;
    byId.set(row.id, row);
    changed = true;
  }
  return changed ? [...byId.values()].sort(newestFirst) : rows;
}

function joins(row: ExecutionSummary, filter: StatusFilter, oldest: number): boolean {
  return matchesFilter(row, filter) && Date.parse(row.created_at) >= oldest;
}

function sameRow(a: ExecutionSummary, b: ExecutionSummary): boolean {
  return (
    a.last_seq === b.last_seq &&
    a.status === b.status &&
    a.finished_at === b.finished_at &&
    a.cost_usd === b.cost_usd
  );
}

const EVENT_STATUS: Partial<Record<StatusEvent["type"], ExecutionStatus>> = {
  "execution.queued": "queued",
  "execution.started": "running",
  "execution.succeeded": "succeeded",
  "execution.failed": "failed",
  "execution.cancelled": "cancelled",
};

export function isTerminalEvent(event: StatusEvent): boolean {
  return ["execution.succeeded", "execution.failed", "execution.cancelled"].includes(event.type);
}

/** Apply a live event to the row of its execution; `known` is false when there is none. */
export function applyEventToRows(
  rows: ExecutionSummary[],
  event: StatusEvent,
): { rows: ExecutionSummary[]; known: boolean } {
  const index = rows.findIndex((row) => row.id === event.execution_id);
  if (index < 0) return { rows, known: false };
  const row = rows[index]!;
  if (event.seq <= row.last_seq) return { rows, known: true };
  const status = EVENT_STATUS[event.type];
  const updated: ExecutionSummary = { ...row, last_seq: event.seq };
  if (status) {
    updated.status = status;
    if (event.type === "execution.started") updated.started_at = row.started_at ?? event.at;
    if (isTerminalEvent(event)) {
      updated.finished_at = event.at;
      updated.error = event.error ?? null;
    }
  }
  const next = [...rows];
  next[index] = updated;
  return { rows: next, known: true };
}

/** The list's fields of an execution detail (its payload and node runs can be large). */
export function toSummary(detail: ExecutionDetail): ExecutionSummary {
  return {
    id: detail.id,
    workflow_id: detail.workflow_id,
    workflow_version: detail.workflow_version,
    status: detail.status,
    mode: detail.mode,
    trigger_node_id: detail.trigger_node_id,
    created_at: detail.created_at,
    started_at: detail.started_at,
    finished_at: detail.finished_at,
    error: detail.error,
    last_seq: detail.last_seq,
    retry_of: detail.retry_of,
    usage: detail.usage,
    cost_usd: detail.cost_usd,
  };
}
