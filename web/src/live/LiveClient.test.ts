import { FakeSocket } from "./fakeSocket";
import {
  LiveClient,
  type ConnectionState,
  type ExecutionWatch,
  type WorkflowListener,
} from "./LiveClient";
import { detail, event, progress, summary } from "./testData";

let sockets: FakeSocket[];
let client: LiveClient;
let states: ConnectionState[];

function latest(): FakeSocket {
  const socket = sockets.at(-1);
  if (!socket) throw new Error("no socket was opened");
  return socket;
}

function makeClient(options: Partial<ConstructorParameters<typeof LiveClient>[0]> = {}): LiveClient {
  const made = new LiveClient({
    url: "ws://portico.test/api/ws",
    createSocket: (url, handlers) => {
      const socket = new FakeSocket(url, handlers);
      sockets.push(socket);
      return socket;
    },
    random: () => 0, // the backoff's lower bound: half the ceiling
    ...options,
  });
  made.onStateChange((state) => states.push(state));
  return made;
}

function watch(executionId = "ex1"): { seen: ExecutionWatch[]; stop: () => void } {
  const seen: ExecutionWatch[] = [];
  const stop = client.watchExecution(executionId, (update) => seen.push(update));
  return { seen, stop };
}

function workflowListener(): WorkflowListener & { snapshots: unknown[][]; events: unknown[] } {
  const listener = {
    snapshots: [] as unknown[][],
    events: [] as unknown[],
    onSnapshot(executions: unknown[]) {
      listener.snapshots.push(executions);
    },
    onEvent(update: unknown) {
      listener.events.push(update);
    },
  };
  return listener;
}

beforeEach(() => {
  vi.useFakeTimers();
  sockets = [];
  states = [];
  client = makeClient();
});

afterEach(() => {
  client.dispose();
  vi.useRealTimers();
});

describe("connecting and subscribing", () => {
  it("opens the socket with the first watcher and subscribes once it is open", () => {
    expect(sockets).toHaveLength(0);
    watch();
    expect(latest().url).toBe("ws://portico.test/api/ws");
    expect(client.state).toBe("connecting");
    expect(latest().sent).toEqual([]);

    latest().open();
    expect(client.state).toBe("live");
    expect(latest().sent).toEqual([{ type: "subscribe", execution_id: "ex1" }]);
  });

  it("builds the run from the snapshot and the events after it", () => {
    const { seen } = watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail() });
    latest().receive({ type: "event", event: event(3, "node.running", { node_id: "a", attempt: 1 }) });
    latest().receive({ type: "progress", progress: progress("a", 1, 0, "Hi") });
    expect(seen.at(-1)?.run?.lastSeq).toBe(3);
    expect(seen.at(-1)?.run?.nodes.a).toMatchObject({ status: "running", progressText: "Hi" });
  });

  it("shares one subscription between watchers of the same execution", () => {
    const first = watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail() });
    const second = watch();
    expect(latest().subscribes()).toHaveLength(1);
    expect(second.seen[0]?.run?.lastSeq).toBe(2); // the state so far, at once

    first.stop();
    expect(latest().sent.filter((frame) => frame.type === "unsubscribe")).toEqual([]);
    second.stop();
    expect(latest().sent.at(-1)).toEqual({ type: "unsubscribe", execution_id: "ex1" });
  });

  it("closes the socket a while after the last watcher leaves, and reopens on demand", () => {
    const { stop } = watch();
    latest().open();
    stop();
    vi.advanceTimersByTime(9_000);
    expect(latest().closedWith).toBeNull();
    watch("ex2"); // a watcher in the meantime keeps the socket
    expect(sockets).toHaveLength(1);
    expect(latest().sent.at(-1)).toEqual({ type: "subscribe", execution_id: "ex2" });
  });

  it("goes idle after lingering", () => {
    const { stop } = watch();
    latest().open();
    stop();
    vi.advanceTimersByTime(10_000);
    expect(latest().closedWith).toBe(1000);
    expect(client.state).toBe("idle");
    watch();
    expect(sockets).toHaveLength(2);
  });
});

describe("reconnecting", () => {
  it("resubscribes each execution with the last seq applied, and each workflow again", () => {
    const { seen } = watch();
    const listener = workflowListener();
    client.watchWorkflow("wf1", listener);
    latest().open();
    latest().receive({ type: "snapshot", execution: detail() });
    latest().receive({ type: "event", event: event(3, "node.running", { node_id: "a", attempt: 1 }) });
    // Seq 5 is parked behind the missing 4: the last seq applied is still 3.
    latest().receive({ type: "event", event: event(5, "node.failed", { node_id: "a", attempt: 1 }) });

    latest().drop();
    expect(client.state).toBe("reconnecting");
    vi.advanceTimersByTime(250); // random() = 0: half of the first 500 ms
    expect(sockets).toHaveLength(2);
    latest().open();
    expect(latest().subscribes()).toEqual([
      { type: "subscribe", execution_id: "ex1", after_seq: 3 },
      { type: "subscribe", workflow_id: "wf1" },
    ]);

    // The replay fills the gap; the parked event is applied after it.
    latest().receive({ type: "event", event: event(4, "node.retrying", { node_id: "a", attempt: 1 }) });
    expect(seen.at(-1)?.run?.lastSeq).toBe(5);
    expect(seen.at(-1)?.run?.nodes.a?.status).toBe("failed");
  });

  it("asks for a snapshot again when the drop came before the first one", () => {
    watch();
    latest().open();
    latest().drop();
    vi.advanceTimersByTime(250);
    latest().open();
    expect(latest().subscribes()).toEqual([{ type: "subscribe", execution_id: "ex1" }]);
  });

  it("backs off exponentially while it keeps failing, and starts over after a good frame", () => {
    watch();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const count = sockets.length;
      latest().drop();
      let waited = 0;
      while (sockets.length === count) {
        vi.advanceTimersByTime(10);
        waited += 10;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 7500, 7500]);

    latest().open();
    latest().receive({ type: "pong" });
    latest().drop();
    vi.advanceTimersByTime(249);
    expect(sockets).toHaveLength(8);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(9);
  });

  it("adds jitter to the delay", () => {
    client.dispose();
    client = makeClient({ random: () => 0.999 });
    watch();
    latest().drop();
    vi.advanceTimersByTime(498);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(2);
    expect(sockets).toHaveLength(2);
  });

  it("waits at least 5 s when the gateway says try again later (1013)", () => {
    watch();
    latest().open();
    latest().drop(1013);
    vi.advanceTimersByTime(4_999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
  });

  it("reconnects and resumes after the gateway drops a slow reader (4008)", () => {
    watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail({ last_seq: 7 }) });
    latest().drop(4008);
    vi.advanceTimersByTime(250);
    latest().open();
    expect(latest().subscribes()).toEqual([{ type: "subscribe", execution_id: "ex1", after_seq: 7 }]);
  });

  it("stops at signed out (4401) and tries again only when asked", () => {
    watch();
    latest().open();
    latest().receive({ type: "error", code: "unauthenticated", message: "not signed in" });
    latest().drop(4401);
    expect(client.state).toBe("signed-out");
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);

    client.reconnect();
    expect(sockets).toHaveLength(2);
    latest().open();
    // The "not signed in" error did not stick to the execution: it is subscribed again.
    expect(latest().subscribes()).toEqual([{ type: "subscribe", execution_id: "ex1" }]);
  });

  it("reports the states in order", () => {
    watch();
    latest().open();
    latest().drop();
    vi.advanceTimersByTime(250);
    latest().open();
    expect(states).toEqual(["connecting", "live", "reconnecting", "live"]);
  });

  it("ignores a replaced socket's late callbacks", () => {
    const { seen } = watch();
    const old = latest();
    old.open();
    old.drop();
    vi.advanceTimersByTime(250);
    old.receive({ type: "snapshot", execution: detail() });
    expect(seen).toEqual([]);
  });
});

describe("keeping the connection alive", () => {
  it("pings every 25 s", () => {
    watch();
    latest().open();
    vi.advanceTimersByTime(25_000);
    expect(latest().sent.at(-1)).toEqual({ type: "ping" });
    latest().receive({ type: "pong" });
    vi.advanceTimersByTime(25_000);
    expect(latest().sent.filter((frame) => frame.type === "ping")).toHaveLength(2);
    expect(sockets).toHaveLength(1);
  });

  it("drops and reconnects a socket that stopped answering", () => {
    watch();
    latest().open();
    vi.advanceTimersByTime(25_000); // ping, and no pong comes
    vi.advanceTimersByTime(25_000);
    expect(sockets[0]?.closedWith).toBe(4000);
    expect(client.state).toBe("reconnecting");
    vi.advanceTimersByTime(250);
    expect(sockets).toHaveLength(2);
  });
});

describe("workflows", () => {
  it("passes snapshots and events on, including those of executions followed directly", () => {
    const listener = workflowListener();
    client.watchWorkflow("wf1", listener);
    watch("ex1");
    latest().open();
    latest().receive({ type: "snapshot", workflow_id: "wf1", executions: [summary()] });
    latest().receive({ type: "event", event: event(1, "execution.started") });
    latest().receive({ type: "event", event: event(1, "execution.started", { workflow_id: "wf2" }) });
    expect(listener.snapshots).toEqual([[summary()]]);
    expect(listener.events).toHaveLength(1);
  });

  it("subscribes again for a second listener so it gets a snapshot too", () => {
    client.watchWorkflow("wf1", workflowListener());
    latest().open();
    client.watchWorkflow("wf1", workflowListener());
    expect(latest().subscribes()).toEqual([
      { type: "subscribe", workflow_id: "wf1" },
      { type: "subscribe", workflow_id: "wf1" },
    ]);
  });
});

describe("error frames", () => {
  it("gives a not_found to the execution it names and, after a few tries, stops asking", () => {
    const { seen } = watch("ex1");
    const other = watch("ex2");
    latest().open();
    const notFound = { type: "error", code: "not_found", message: "no execution ex1", execution_id: "ex1" };
    for (const wait of [250, 500, 1000]) {
      latest().receive(notFound);
      expect(seen.at(-1)?.error).toMatchObject({ code: "not_found", fatal: false });
      vi.advanceTimersByTime(wait);
    }
    latest().receive(notFound);
    expect(seen.at(-1)?.error).toEqual({ code: "not_found", message: "no execution ex1", fatal: true });
    vi.advanceTimersByTime(20_000);
    expect(latest().subscribes().filter((frame) => frame.execution_id === "ex1")).toHaveLength(4);
    expect(other.seen).toEqual([]);
  });

  it("resubscribes after a passing failure, resuming from the last seq", () => {
    const { seen } = watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail({ last_seq: 4 }) });
    latest().receive({
      type: "error",
      code: "resync_failed",
      message: "lost track of execution ex1 (unavailable); subscribe again with after_seq=4",
      execution_id: "ex1",
    });
    expect(seen.at(-1)?.error?.fatal).toBe(false);
    vi.advanceTimersByTime(250);
    expect(latest().subscribes().at(-1)).toEqual({ type: "subscribe", execution_id: "ex1", after_seq: 4 });
    latest().receive({ type: "event", event: event(5, "node.running", { node_id: "a", attempt: 1 }) });
    expect(seen.at(-1)?.error).toBeNull();
  });

  it("gives an error to the workflow it names, not to the executions watched beside it", () => {
    const listener = { ...workflowListener(), onError: vi.fn() };
    const { seen } = watch();
    latest().open();
    client.watchWorkflow("wf1", listener);
    latest().receive({ type: "error", code: "not_found", message: "no workflow wf1", workflow_id: "wf1" });
    expect(listener.onError).toHaveBeenCalledWith(expect.objectContaining({ code: "not_found" }));
    expect(seen.filter((state) => state.error !== null)).toEqual([]);
  });

  it("blames the subscriptions still waiting when the frame names none", () => {
    const listener = { ...workflowListener(), onError: vi.fn() };
    const { seen } = watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail() });
    client.watchWorkflow("wf1", listener);
    latest().receive({ type: "error", code: "database_unavailable", message: "the database is unreachable" });
    expect(listener.onError).toHaveBeenCalledWith(expect.objectContaining({ code: "database_unavailable" }));
    expect(seen.at(-1)?.error).toBeNull();
  });
});

describe("gaps", () => {
  it("asks for a replay when an event stays parked behind a gap", () => {
    watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail() });
    latest().receive({ type: "event", event: event(4, "node.running", { node_id: "b", attempt: 1 }) });
    vi.advanceTimersByTime(2_999);
    expect(latest().subscribes()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(latest().subscribes().at(-1)).toEqual({ type: "subscribe", execution_id: "ex1", after_seq: 2 });
  });

  it("does not when the gap fills in time", () => {
    watch();
    latest().open();
    latest().receive({ type: "snapshot", execution: detail() });
    latest().receive({ type: "event", event: event(4, "node.running", { node_id: "b", attempt: 1 }) });
    latest().receive({ type: "event", event: event(3, "node.running", { node_id: "a", attempt: 1 }) });
    vi.advanceTimersByTime(10_000);
    expect(latest().subscribes()).toHaveLength(1);
  });
});

