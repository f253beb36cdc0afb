// The execution timeline's geometry: one row per node run, each bar placed on a time axis
// that starts when the execution started, so nodes that ran in parallel overlap visibly.
// Positions are fractions of the axis (0…1); the component turns them into percentages.
import { formatDuration } from "../format";
import type { NodeRunStatus } from "../api/types";

export interface TimelineNode {
  nodeId: string;
  status: NodeRunStatus;
  attempt?: number | null;
  startedAt?: string | null;
  finishedAt?: string | null;
}

export type RowKind =
  /** Ran (or runs) in this execution: a bar. */
  | "bar"
  /** Never started: queued, skipped, or cancelled before it ran. */
  | "waiting"
  /** Taken over from the execution this one retries: it ran before this one began. */
  | "reused";

export interface TimelineRow {
  nodeId: string;
  status: NodeRunStatus;
  attempt: number | null;
  kind: RowKind;
  /** Where the bar starts and how wide it is, as fractions of the axis (bars only). */
  left: number;
  width: number;
  /** null while a bar is still running (it grows with `now`) or for rows without a bar. */
  durationMs: number | null;
  /** How long it has run so far (bars only; equals durationMs once finished). */
  elapsedMs: number;
  running: boolean;
}

export interface Tick {
  ms: number;
  /** Fraction of the axis. */
  at: number;
  label: string;
}

export interface TimelineLayout {
  /** The axis length in milliseconds (never 0). */
  totalMs: number;
  rows: TimelineRow[];
  ticks: Tick[];
}

/** A zero-length bar (a trigger) is still drawn this wide. */
export const MIN_BAR_WIDTH = 0.004;
const MAX_TICKS = 8;
const TICK_STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
  120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000,
];

function parse(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

interface Span {
  node: TimelineNode;
  /** Clamped to the axis: a node's clock may run a little behind the orchestrator's. */
  start: number;
  end: number;
  /** The node's own measure, unclamped. */
  elapsed: number;
  running: boolean;
}

/**
 * Lay out the timeline of an execution that started at `startedAt` (null: not yet) and ended
 * at `finishedAt` (null: still going, so the axis runs to `now`). `nodes` come in graph order,
 * which breaks ties between nodes that started together.
 */
export function layoutTimeline({
  startedAt,
  finishedAt,
  nodes,
  now,
}: {
  startedAt: string | null | undefined;
  finishedAt: string | null | undefined;
  nodes: TimelineNode[];
  now: number;
}): TimelineLayout {
  const origin = parse(startedAt);
  const executionEnd = parse(finishedAt);
  const spans: Span[] = [];
  const reused: TimelineNode[] = [];
  const waiting: TimelineNode[] = [];
  for (const node of nodes) {
    const start = parse(node.startedAt);
    const end = parse(node.finishedAt);
    if (origin === null || start === null) waiting.push(node);
    else if (end !== null && end <= origin && start < origin) reused.push(node);
    else {
      const running = end === null && (node.status === "running" || node.status === "retrying");
      const stop = end ?? (running ? Math.max(now, start) : (executionEnd ?? Math.max(now, start)));
      const clampedEnd = Math.max(stop, start, origin);
      spans.push({ node, start: Math.max(start, origin), end: clampedEnd, elapsed: Math.max(0, stop - start), running });
    }
  }
  // Order by start; Array.prototype.sort is stable, so graph order breaks ties.
  spans.sort((a, b) => a.start - b.start);

  const axisEnd = Math.max(
    executionEnd ?? (origin === null ? 0 : now),
    ...spans.map((span) => span.end),
    origin ?? 0,
  );
  const totalMs = origin === null ? 1 : Math.max(1, axisEnd - origin);
  const base = origin ?? 0;

  const rows: TimelineRow[] = [
    ...spans.map((span) => barRow(span, base, totalMs)),
    ...reused.map((node) => flatRow(node, "reused")),
    ...waiting.map((node) => flatRow(node, "waiting")),
  ];
  return { totalMs, rows, ticks: origin === null ? [] : ticks(totalMs) };
}

function barRow(span: Span, origin: number, totalMs: number): TimelineRow {
  const elapsed = span.elapsed;
  const width = Math.max(MIN_BAR_WIDTH, (span.end - span.start) / totalMs);
  const left = Math.min((span.start - origin) / totalMs, 1 - width);
  return {
    nodeId: span.node.nodeId,
    status: span.node.status,
    attempt: span.node.attempt ?? null,
    kind: "bar",
    left: Math.max(0, left),
    width: Math.min(1, width),
    durationMs: span.running ? null : elapsed,
    elapsedMs: elapsed,
    running: span.running,
  };
}

function flatRow(node: TimelineNode, kind: RowKind): TimelineRow {
  return {
    nodeId: node.nodeId,
    status: node.status,
    attempt: node.attempt ?? null,
    kind,
    left: 0,
    width: 0,
    durationMs: null,
    elapsedMs: 0,
    running: false,
  };
}

/** The smallest "round" step that needs at most `maxTicks` steps to cover `totalMs`. */
export function tickStep(totalMs: number, maxTicks = MAX_TICKS): number {
  const wanted = totalMs / maxTicks;
  const step = TICK_STEPS_MS.find((candidate) => candidate >= wanted);
  if (step !== undefined) return step;
  const day = 86_400_000;
  return Math.ceil(wanted / day) * day;
}

function ticks(totalMs: number): Tick[] {
  const step = tickStep(totalMs);
  const result: Tick[] = [];
  for (let ms = 0; ms <= totalMs + 1e-9; ms += step) {
    result.push({ ms, at: ms / totalMs, label: formatTick(ms) });
  }
  return result;
}

/** "0", "250 ms", "1.5 s", "2 min", "1 min 30 s", "2 h". */
export function formatTick(ms: number): string {
  if (ms === 0) return "0";
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(3))} s`;
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms % 60_000) / 1_000);
    return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
  }
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.round((ms % 3_600_000) / 60_000);
  return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
}

/** A bar's label: its duration, or how long so far while it runs. */
export function barLabel(row: TimelineRow): string {
  if (row.kind === "reused") return "reused";
  if (row.kind === "waiting") return row.status;
  const text = formatDuration(row.elapsedMs);
  return row.running ? `${text}…` : text;
}
