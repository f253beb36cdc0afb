// Builders of API shapes for the live layer's tests (imported by *.test.ts only).
import type {
  ExecutionDetail,
  ExecutionSummary,
  NodeProgress,
  NodeRunView,
  StatusEvent,
} from "../api/types";

export const T0 = "2026-03-01T10:00:00.000Z";

/** An ISO instant `ms` after T0. */
export function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

export function nodeRun(nodeId: string, fields: Partial<NodeRunView> = {}): NodeRunView {
  return { node_id: nodeId, node_type: "transform", status: "queued", attempt: 0, ...fields };
}

export function summary(fields: Partial<ExecutionSummary> = {}): ExecutionSummary {
  return {
    id: "ex1",
    workflow_id: "wf1",
    workflow_version: 3,
    status: "running",
    mode: "manual",
    trigger_node_id: "start",
    created_at: T0,
    started_at: T0,
    last_seq: 2,
    cost_usd: 0,
    ...fields,
  };
}

/** The same execution as `summary()`, with its trigger succeeded and nodes a and b queued. */
export function detail(fields: Partial<ExecutionDetail> = {}): ExecutionDetail {
  return {
    ...summary(),
    node_runs: [
      nodeRun("start", { node_type: "trigger.manual", status: "succeeded", attempt: 1 }),
      nodeRun("a"),
      nodeRun("b"),
    ],
    ...fields,
  };
}

export function event(
  seq: number,
  type: StatusEvent["type"],
  fields: Partial<StatusEvent> = {},
): StatusEvent {
  const status = type.split(".")[1] ?? "";
  return { execution_id: "ex1", workflow_id: "wf1", seq, type, at: at(seq * 100), status, ...fields };
}

export function progress(
  nodeId: string,
  attempt: number,
  index: number,
  text: string,
): NodeProgress {
  return {
    type: "node.progress",
    execution_id: "ex1",
    workflow_id: "wf1",
    node_id: nodeId,
    attempt,
    index,
    text,
    at: T0,
  };
}
