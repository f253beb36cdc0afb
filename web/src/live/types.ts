// Where one execution stands, as the canvas and the execution view draw it. Built from a
// WebSocket snapshot and the events after it (runState.ts), or from GET /api/executions/{id}.
import type { ExecutionStatus, NodeError, NodeRunStatus } from "../api/types";

export interface NodeRunState {
  status: NodeRunStatus;
  attempt?: number | null;
  error?: NodeError | null;
  output?: unknown;
  input?: unknown;
  startedAt?: string | null;
  finishedAt?: string | null;
  /** Streamed text of a running AI node (node.progress), in chunk order. */
  progressText?: string;
}

export interface RunState {
  executionId: string;
  workflowId: string;
  status: ExecutionStatus;
  lastSeq: number;
  startedAt?: string | null;
  finishedAt?: string | null;
  error?: NodeError | null;
  nodes: Record<string, NodeRunState>;
}
