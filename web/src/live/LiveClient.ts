// One WebSocket to the gateway (/api/ws) shared by every page that watches something live.
//
// Subscriptions are multiplexed: however many components watch an execution or a workflow,
// the gateway sees one subscription each. The socket opens with the first watcher and closes
// a little after the last one leaves. After a drop it reconnects with exponential backoff and
// jitter, and resubscribes every execution with `after_seq` = the last seq applied, so the
// gateway replays only what was missed (the snapshot is never lost: the tracker keeps it).
//
// The socket itself comes from a factory, so tests drive the client with a fake one.
import type {
  ErrorFrame,
  ExecutionDetail,
  ExecutionSummary,
  NodeProgress,
  ServerFrame,
  StatusEvent,
} from "../api/types";
import { DEFAULT_BACKOFF, reconnectDelay, type BackoffPolicy } from "./backoff";
import { applyEvent, applyProgress, applySnapshot, newTracker, type RunTracker } from "./runState";
import type { RunState } from "./types";

export type ConnectionState = "idle" | "connecting" | "live" | "reconnecting" | "signed-out";

export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: string): void;
  onClose(code: number, reason: string): void;
}

export interface LiveSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, handlers: SocketHandlers) => LiveSocket;

export interface LiveError {
  code: string;
  message: string;
  /** True when subscribing again cannot help (say, the execution does not exist). */
  fatal: boolean;
}

export interface ExecutionWatch {
  run: RunState | null;
  error: LiveError | null;
}

export interface WorkflowListener {
  /** The workflow's most recent executions; sent again after every (re)subscribe. */
  onSnapshot(executions: ExecutionSummary[]): void;
  onEvent(event: StatusEvent): void;
  onError?(error: LiveError): void;
}

export interface LiveClientOptions {
  url: string;
  createSocket: SocketFactory;
  pingIntervalMs?: number;
  /** How long the socket stays open after the last watcher leaves (page changes reuse it). */
  lingerMs?: number;
  /** How long an event may wait parked behind a gap before asking for a replay. */
  gapTimeoutMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
}

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** After 1013 the gateway is overloaded or its database is down: give it a moment. */
const TRY_LATER_MIN_MS = 5_000;
const FATAL_CODES = new Set(["not_found", "invalid_request", "bad_frame", "too_many_subscriptions"]);
/** About the connection, not a subscription: the close code that follows says what to do. */
const CONNECTION_CODES = new Set(["unauthenticated", "forbidden_origin"]);
/** A run just accepted may not be recorded yet: not_found is believed after this many tries. */
const NOT_FOUND_TRIES = 3;

type Timer = ReturnType<typeof setTimeout>;

interface Target {
  kind: "execution" | "workflow";
  id: string;
  /** A subscribe was sent and nothing has answered it yet (for errors that name no target). */
  awaiting: boolean;
  retries: number;
  retryTimer: Timer | null;
  error: LiveError | null;
}

interface ExecutionEntry extends Target {
  kind: "execution";
  tracker: RunTracker;
  listeners: Set<(watch: ExecutionWatch) => void>;
  watch: ExecutionWatch;
  gapTimer: Timer | null;
}

interface WorkflowEntry extends Target {
  kind: "workflow";
  listeners: Set<WorkflowListener>;
}

export class LiveClient {
  private readonly options: Required<LiveClientOptions>;
  private readonly executions = new Map<string, ExecutionEntry>();
  private readonly workflows = new Map<string, WorkflowEntry>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private socket: LiveSocket | null = null;
  private isOpen = false;
  private currentState: ConnectionState = "idle";
  /** Reconnects since the last good frame: the backoff exponent. */
  private failures = 0;
  private reconnectTimer: Timer | null = null;
  private lingerTimer: Timer | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pingSentAt: number | null = null;
  private lastFrameAt = 0;

  constructor(options: LiveClientOptions) {
    this.options = {
      pingIntervalMs: 25_000,
      lingerMs: 10_000,
      gapTimeoutMs: 3_000,
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      now: Date.now,
      ...options,
    };
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Follow one execution: the listener gets its RunState after every change. */
  watchExecution(executionId: string, listener: (watch: ExecutionWatch) => void): () => void {
    let entry = this.executions.get(executionId);
    if (!entry) {
      entry = {
        kind: "execution",
        id: executionId,
        tracker: newTracker(executionId),
        listeners: new Set(),
        watch: { run: null, error: null },
        gapTimer: null,
        ...freshTarget(),
      };
      this.executions.set(executionId, entry);
      this.sendSubscribe(entry);
    }
    entry.listeners.add(listener);
    if (entry.watch.run || entry.watch.error) listener(entry.watch);
    this.keepAlive();
    const watched = entry;
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size === 0 && this.executions.get(executionId) === watched) {
        this.executions.delete(executionId);
        this.forget(watched);
      }
    };
  }

  /** Follow a workflow: its recent executions, then every event of any of them. */
  watchWorkflow(workflowId: string, listener: WorkflowListener): () => void {
    let entry = this.workflows.get(workflowId);
    if (!entry) {
      entry = { kind: "workflow", id: workflowId, listeners: new Set(), ...freshTarget() };
      this.workflows.set(workflowId, entry);
    }
    entry.listeners.add(listener);
    // Subscribing again brings a fresh snapshot, which the new listener needs.
    this.sendSubscribe(entry);
    this.keepAlive();
    const watched = entry;
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size === 0 && this.workflows.get(workflowId) === watched) {
        this.workflows.delete(workflowId);
        this.forget(watched);
      }
    };
  }

  /** Try now instead of waiting out the backoff (a "Reconnect" button, or after signing in). */
  reconnect(): void {
    if (this.isOpen || !this.hasTargets()) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.failures = 0;
    this.dropSocket();
    this.connect();
  }

  dispose(): void {
    for (const target of this.targets()) this.clearTimers(target);
    this.executions.clear();
    this.workflows.clear();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.reconnectTimer = this.lingerTimer = null;
    this.dropSocket()?.close(1000, "closed");
    this.setState("idle");
  }

  // --- the socket ------------------------------------------------------------------------

  private keepAlive(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    if (!this.socket && !this.reconnectTimer) this.connect();
  }

  private connect(): void {
    this.reconnectTimer = null;
    this.setState(this.failures > 0 ? "reconnecting" : "connecting");
    const socket = this.options.createSocket(this.options.url, {
      onOpen: () => this.socket === socket && this.handleOpen(),
      onMessage: (data) => this.socket === socket && this.handleMessage(data),
      onClose: (code) => this.socket === socket && this.handleClose(code),
    });
    this.socket = socket;
  }

  private handleOpen(): void {
    this.isOpen = true;
    this.lastFrameAt = this.options.now();
    this.pingSentAt = null;
    this.pingTimer = setInterval(() => this.ping(), this.options.pingIntervalMs);
    this.setState("live");
    for (const target of this.targets()) {
      if (!target.error?.fatal) this.sendSubscribe(target);
    }
  }

  private handleClose(code: number): void {
    this.dropSocket();
    if (code === CLOSE_UNAUTHENTICATED) {
      this.setState("signed-out");
      return;
    }
    if (!this.hasTargets()) {
      this.setState("idle");
      return;
    }
    const minimum = code === CLOSE_TRY_AGAIN_LATER ? TRY_LATER_MIN_MS : 0;
    const delay = Math.max(minimum, reconnectDelay(this.failures, this.options.random, this.options.backoff));
    this.failures += 1;
    this.setState("reconnecting");
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Forget the current socket (its late callbacks are ignored); returns it to close. */
  private dropSocket(): LiveSocket | null {
    const socket = this.socket;
    this.socket = null;
    this.isOpen = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    for (const target of this.targets()) {
      target.awaiting = false;
      if (target.retryTimer) clearTimeout(target.retryTimer);
      target.retryTimer = null; // every target is subscribed again on open
    }
    return socket;
  }

  private ping(): void {
    if (this.pingSentAt !== null && this.lastFrameAt < this.pingSentAt) {
      // Not even a pong since the last ping: the connection is dead without having closed.
      const socket = this.socket;
      this.handleClose(1006);
      socket?.close(4000, "no pong");
      return;
    }
    this.pingSentAt = this.options.now();
    this.send({ type: "ping" });
  }

  private send(frame: Record<string, unknown>): boolean {
    if (!this.socket || !this.isOpen) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false; // the socket is closing; its close handler reconnects
    }
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.stateListeners.forEach((listener) => listener(state));
  }

  // --- subscriptions ---------------------------------------------------------------------

  private sendSubscribe(target: ExecutionEntry | WorkflowEntry): void {
    if (target.retryTimer) clearTimeout(target.retryTimer);
    target.retryTimer = null;
    const frame: Record<string, unknown> = { type: "subscribe" };
    if (target.kind === "workflow") {
      frame.workflow_id = target.id;
    } else {
      frame.execution_id = target.id;
      // With a snapshot in hand, only what came after it: the gateway replays from there.
      const run = target.tracker.run;
      if (run) frame.after_seq = run.lastSeq;
    }
    if (this.send(frame)) target.awaiting = true;
  }

  private forget(target: ExecutionEntry | WorkflowEntry): void {
    this.clearTimers(target);
    const key = target.kind === "execution" ? "execution_id" : "workflow_id";
    this.send({ type: "unsubscribe", [key]: target.id });
    if (this.hasTargets()) return;
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.setState("idle");
    }
    if (this.socket && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.dropSocket()?.close(1000, "idle");
        this.failures = 0;
        this.setState("idle");
      }, this.options.lingerMs);
    }
  }

  private clearTimers(target: ExecutionEntry | WorkflowEntry): void {
    if (target.retryTimer) clearTimeout(target.retryTimer);
    target.retryTimer = null;
    if (target.kind === "execution" && target.gapTimer) {
      clearTimeout(target.gapTimer);
      target.gapTimer = null;
    }
  }

  private targets(): (ExecutionEntry | WorkflowEntry)[] {
    return [...this.executions.values(), ...this.workflows.values()];
  }

  private hasTargets(): boolean {
    return this.executions.size > 0 || this.workflows.size > 0;
  }

  // --- frames ----------------------------------------------------------------------------

  private handleMessage(data: string): void {
    this.lastFrameAt = this.options.now();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return; // not JSON: nothing the gateway sends
    }
    if (frame.type !== "error") this.failures = 0;
    switch (frame.type) {
      case "snapshot":
        if ("execution" in frame) this.onExecutionSnapshot(frame.execution);
        else this.onWorkflowSnapshot(frame.workflow_id, frame.executions);
        break;
      case "event":
        this.onEvent(frame.event);
        break;
      case "progress":
        this.onProgress(frame.progress);
        break;
      case "error":
        this.onError(frame, { code: frame.code, message: frame.message, fatal: FATAL_CODES.has(frame.code) });
        break;
      default:
        break; // pong: lastFrameAt is all it is for
    }
  }

  private onExecutionSnapshot(detail: ExecutionDetail): void {
    const entry = this.executions.get(detail.id);
    if (!entry) return;
    this.answered(entry);
    this.update(entry, applySnapshot(entry.tracker, detail));
  }

  private onWorkflowSnapshot(workflowId: string, executions: ExecutionSummary[]): void {
    const entry = this.workflows.get(workflowId);
    if (!entry) return;
    this.answered(entry);
    entry.listeners.forEach((listener) => listener.onSnapshot(executions));
  }

  private onEvent(event: StatusEvent): void {
    const execution = this.executions.get(event.execution_id);
    if (execution) {
      this.answered(execution);
      this.update(execution, applyEvent(execution.tracker, event));
    }
    // The gateway sends an event once per socket: through the execution's own subscription
    // when there is one, else through the workflow's. Both kinds of watcher want it.
    const workflow = this.workflows.get(event.workflow_id);
    workflow?.listeners.forEach((listener) => listener.onEvent(event));
  }

  private onProgress(progress: NodeProgress): void {
    const entry = this.executions.get(progress.execution_id);
    if (entry) this.update(entry, applyProgress(entry.tracker, progress));
  }

  private answered(target: Target): void {
    target.awaiting = false;
    target.retries = 0;
  }

  private update(entry: ExecutionEntry, tracker: RunTracker): void {
    const errorCleared = entry.error !== null && tracker.run !== null;
    if (tracker === entry.tracker && !errorCleared) return;
    entry.tracker = tracker;
    if (tracker.run) entry.error = null;
    this.watchGap(entry);
    this.notify(entry);
  }

  private notify(entry: ExecutionEntry): void {
    entry.watch = { run: entry.tracker.run, error: entry.error };
    entry.listeners.forEach((listener) => listener(entry.watch));
  }

  /** An event parked behind a gap for too long: ask the gateway to replay from lastSeq. */
  private watchGap(entry: ExecutionEntry): void {
    const waiting = entry.tracker.run !== null && Object.keys(entry.tracker.parked).length > 0;
    if (!waiting) {
      if (entry.gapTimer) clearTimeout(entry.gapTimer);
      entry.gapTimer = null;
      return;
    }
    entry.gapTimer ??= setTimeout(() => {
      entry.gapTimer = null;
      if (Object.keys(entry.tracker.parked).length > 0) this.sendSubscribe(entry);
    }, this.options.gapTimeoutMs);
  }

  /** An error frame names the subscription it ended; one that names none (the database was
   * down before the subscription was known) is blamed on those still waiting for an answer. */
  private onError(frame: ErrorFrame, error: LiveError): void {
    if (CONNECTION_CODES.has(error.code)) return;
    const all = this.targets();
    const named = all.filter(
      (target) =>
        (target.kind === "execution" && target.id === frame.execution_id) ||
        (target.kind === "workflow" && target.id === frame.workflow_id),
    );
    const blamed = frame.execution_id || frame.workflow_id ? named : all.filter((t) => t.awaiting);
    for (const target of blamed) this.fail(target, error);
  }

  private fail(target: ExecutionEntry | WorkflowEntry, reported: LiveError): void {
    const justStarted =
      reported.code === "not_found" && target.kind === "execution" && !target.tracker.run;
    const error = justStarted && target.retries < NOT_FOUND_TRIES ? { ...reported, fatal: false } : reported;
    target.awaiting = false;
    target.error = error;
    if (target.kind === "execution") this.notify(target);
    else target.listeners.forEach((listener) => listener.onError?.(error));
    if (error.fatal) return;
    // A passing failure (orchestrator or database unavailable, lost track): subscribe again.
    const delay = reconnectDelay(target.retries, this.options.random, this.options.backoff);
    target.retries += 1;
    if (target.retryTimer) clearTimeout(target.retryTimer);
    target.retryTimer = setTimeout(() => this.sendSubscribe(target), delay);
  }
}

function freshTarget(): Pick<Target, "awaiting" | "retries" | "retryTimer" | "error"> {
  return { awaiting: false, retries: 0, retryTimer: null, error: null };
}
