// Where one execution stands, rebuilt from a snapshot and the events after it. Pure: every
// function returns a new tracker (or the same one when nothing changed, so React can skip a
// render).
//
// The gateway sends one execution's events once each, in seq order, but a reconnect, a resync
// or a workflow subscription's copy of the same event can still bring one twice or early. So
// an event at or below `lastSeq` is ignored, and one that skips ahead is parked until the
// events before it arrive.
import type { ExecutionDetail, NodeProgress, NodeRunView, StatusEvent } from "../api/types";
import type { NodeRunState, RunState } from "./types";

/** Chunks of the attempt a node is streaming, by index (a chunk may be missing or late). */
interface StreamedText {
  attempt: number;
  parts: Record<number, string>;
}

export interface RunTracker {
  executionId: string;
  /** null until the first snapshot. */
  run: RunState | null;
  /** Events that arrived ahead of a gap (or before the snapshot), by seq. */
  parked: Record<number, StatusEvent>;
  streams: Record<string, StreamedText>;
}

const FINISHED_NODE = new Set(["succeeded", "failed", "skipped", "cancelled"]);
const FINISHED_EXECUTION = new Set(["succeeded", "failed", "cancelled"]);

export function isRunFinished(run: Pick<RunState, "status">): boolean {
  return FINISHED_EXECUTION.has(run.status);
}

export function newTracker(executionId: string): RunTracker {
  return { executionId, run: null, parked: {}, streams: {} };
}

function nodeFromView(view: NodeRunView): NodeRunState {
  return {
    status: view.status,
    attempt: view.attempt,
    error: view.error ?? null,
    output: view.output,
    input: view.input,
    startedAt: view.started_at ?? null,
    finishedAt: view.finished_at ?? null,
  };
}

/** RunState of an execution as GET /api/executions/{id} (or a snapshot frame) gives it. */
export function runFromDetail(detail: ExecutionDetail): RunState {
  const nodes: Record<string, NodeRunState> = {};
  for (const view of detail.node_runs ?? []) nodes[view.node_id] = nodeFromView(view);
  return {
    executionId: detail.id,
    workflowId: detail.workflow_id,
    status: detail.status,
    lastSeq: detail.last_seq ?? 0,
    startedAt: detail.started_at ?? null,
    finishedAt: detail.finished_at ?? null,
    error: detail.error ?? null,
    nodes,
  };
}

/** Take a snapshot, unless the tracker already stands further on than it does. */
export function applySnapshot(tracker: RunTracker, detail: ExecutionDetail): RunTracker {
  if (detail.id !== tracker.executionId) return tracker;
  if (tracker.run && (detail.last_seq ?? 0) < tracker.run.lastSeq) return tracker;
  const run = runFromDetail(detail);
  // Text streamed so far is not in the snapshot: keep it for nodes still on that attempt.
  const streams: Record<string, StreamedText> = {};
  for (const [nodeId, stream] of Object.entries(tracker.streams)) {
    const node = run.nodes[nodeId];
    if (node && node.status === "running" && (node.attempt ?? 0) <= stream.attempt) {
      streams[nodeId] = stream;
      run.nodes[nodeId] = { ...node, progressText: joinParts(stream.parts) };
    }
  }
  return drainParked({ ...tracker, run, streams });
}

/** Apply one status event in seq order: ignore what is already applied, park what is early. */
export function applyEvent(tracker: RunTracker, event: StatusEvent): RunTracker {
  if (event.execution_id !== tracker.executionId) return tracker;
  if (tracker.run && event.seq <= tracker.run.lastSeq) return tracker;
  if (tracker.parked[event.seq]) return tracker;
  const parked = { ...tracker.parked, [event.seq]: event };
  return drainParked({ ...tracker, parked });
}

function drainParked(tracker: RunTracker): RunTracker {
  let { run, streams } = tracker;
  if (!run) return tracker;
  const parked = { ...tracker.parked };
  for (let next = parked[run.lastSeq + 1]; next; next = parked[run.lastSeq + 1]) {
    delete parked[next.seq];
    ({ run, streams } = stepRun(run, streams, next));
  }
  for (const seq of Object.keys(parked).map(Number)) {
    if (seq <= run.lastSeq) delete parked[seq];
  }
  return { ...tracker, run, streams, parked };
}

function stepRun(
  run: RunState,
  streams: Record<string, StreamedText>,
  event: StatusEvent,
): { run: RunState; streams: Record<string, StreamedText> } {
  const advanced = { ...run, lastSeq: event.seq };
  if (event.type.startsWith("execution.")) {
    return { run: applyExecutionEvent(advanced, event), streams };
  }
  if (!event.node_id) return { run: advanced, streams };
  const nodeId = event.node_id;
  const before = run.nodes[nodeId] ?? { status: "queued" as const, attempt: 0 };
  const node = applyNodeEvent(before, event);
  const stream = streams[nodeId];
  const keepStream = stream && node.status === "running" && (node.attempt ?? 0) <= stream.attempt;
  const nextStreams = { ...streams };
  if (!keepStream) {
    delete nextStreams[nodeId];
    delete node.progressText;
  }
  return { run: { ...advanced, nodes: { ...run.nodes, [nodeId]: node } }, streams: nextStreams };
}

function applyExecutionEvent(run: RunState, event: StatusEvent): RunState {
  switch (event.type) {
    case "execution.queued":
      return { ...run, status: "queued" };
    case "execution.started":
      return { ...run, status: "running", startedAt: run.startedAt ?? event.at };
    case "execution.succeeded":
      return { ...run, status: "succeeded", finishedAt: event.at, error: null };
    case "execution.failed":
      return { ...run, status: "failed", finishedAt: event.at, error: event.error ?? run.error };
    case "execution.cancelled":
      return { ...run, status: "cancelled", finishedAt: event.at, error: event.error ?? null };
    default:
      return run;
  }
}

function applyNodeEvent(node: NodeRunState, event: StatusEvent): NodeRunState {
  const attempt = event.attempt ?? node.attempt ?? null;
  switch (event.type) {
    case "node.running": {
      // The same attempt dispatched again (a durable wait resuming) keeps its start time.
      const sameAttempt = attempt === node.attempt && node.status === "running";
      return {
        ...node,
        status: "running",
        attempt,
        error: null,
        output: undefined,
        startedAt: sameAttempt ? (node.startedAt ?? event.at) : event.at,
        finishedAt: null,
      };
    }
    case "node.retrying":
      // `attempt` is the attempt that failed; the next one starts with its own node.running.
      return { ...node, status: "retrying", attempt, error: event.error ?? null, finishedAt: event.at };
    case "node.succeeded":
      return {
        ...node,
        status: "succeeded",
        attempt,
        output: event.output,
        error: null,
        startedAt: node.startedAt ?? event.at,
        finishedAt: event.at,
      };
    case "node.failed":
      return { ...node, status: "failed", attempt, error: event.error ?? null, finishedAt: event.at };
    case "node.skipped":
      return { ...node, status: "skipped", finishedAt: event.at };
    case "node.cancelled":
      return { ...node, status: "cancelled", attempt, finishedAt: event.at };
    default:
      return node;
  }
}

/** Add a streamed chunk: index order within an attempt; a newer attempt starts the text over. */
export function applyProgress(tracker: RunTracker, progress: NodeProgress): RunTracker {
  if (progress.execution_id !== tracker.executionId || !tracker.run) return tracker;
  const node = tracker.run.nodes[progress.node_id];
  if (node && FINISHED_NODE.has(node.status)) return tracker; // its output has the whole text
  if (node && (node.attempt ?? 0) > progress.attempt) return tracker; // an older attempt's
  const current = tracker.streams[progress.node_id];
  if (current && current.attempt > progress.attempt) return tracker;
  const base = current && current.attempt === progress.attempt ? current.parts : {};
  if (base[progress.index] === progress.text) return tracker;
  const stream = { attempt: progress.attempt, parts: { ...base, [progress.index]: progress.text } };
  const updated: NodeRunState = {
    ...(node ?? { status: "running" }),
    progressText: joinParts(stream.parts),
  };
  return {
    ...tracker,
    streams: { ...tracker.streams, [progress.node_id]: stream },
    run: { ...tracker.run, nodes: { ...tracker.run.nodes, [progress.node_id]: updated } },
  };
}

function joinParts(parts: Record<number, string>): string {
  return Object.keys(parts)
    .map(Number)
    .sort((a, b) => a - b)
    .map((index) => parts[index])
    .join("");
}
