import {
  applyEvent,
  applyProgress,
  applySnapshot,
  isRunFinished,
  newTracker,
  runFromDetail,
  type RunTracker,
} from "./runState";
import { at, detail, event, nodeRun, progress } from "./testData";

function snapshotted(fields = {}): RunTracker {
  return applySnapshot(newTracker("ex1"), detail(fields));
}

function applyAll(tracker: RunTracker, events: Parameters<typeof applyEvent>[1][]): RunTracker {
  return events.reduce(applyEvent, tracker);
}

describe("runFromDetail", () => {
  it("copies the execution and every node run", () => {
    const run = runFromDetail(
      detail({
        node_runs: [
          nodeRun("a", {
            status: "failed",
            attempt: 2,
            input: { url: "x" },
            error: { message: "boom", type: "HttpError", retryable: true },
            started_at: at(10),
            finished_at: at(20),
          }),
        ],
      }),
    );
    expect(run).toMatchObject({ executionId: "ex1", workflowId: "wf1", status: "running", lastSeq: 2 });
    expect(run.nodes.a).toEqual({
      status: "failed",
      attempt: 2,
      input: { url: "x" },
      output: undefined,
      error: { message: "boom", type: "HttpError", retryable: true },
      startedAt: at(10),
      finishedAt: at(20),
    });
  });
});

describe("applyEvent", () => {
  it("applies events in seq order", () => {
    const tracker = applyAll(snapshotted(), [
      event(3, "node.running", { node_id: "a", attempt: 1 }),
      event(4, "node.succeeded", { node_id: "a", attempt: 1, output: { ok: true } }),
    ]);
    expect(tracker.run?.lastSeq).toBe(4);
    expect(tracker.run?.nodes.a).toMatchObject({
      status: "succeeded",
      attempt: 1,
      output: { ok: true },
      startedAt: at(300),
      finishedAt: at(400),
    });
  });

  it("ignores events the snapshot already covers and duplicates", () => {
    const base = snapshotted({ last_seq: 5 });
    expect(applyEvent(base, event(5, "node.running", { node_id: "a" }))).toBe(base);
    expect(applyEvent(base, event(2, "execution.failed"))).toBe(base);
    const once = applyEvent(base, event(6, "node.running", { node_id: "a", attempt: 1 }));
    expect(applyEvent(once, event(6, "node.failed", { node_id: "a" }))).toBe(once);
    expect(once.run?.nodes.a?.status).toBe("running");
  });

  it("parks an event after a gap until the gap fills", () => {
    let tracker = applyEvent(snapshotted(), event(4, "node.succeeded", { node_id: "a", attempt: 1 }));
    expect(tracker.run?.lastSeq).toBe(2);
    expect(tracker.run?.nodes.a?.status).toBe("queued");
    expect(Object.keys(tracker.parked)).toEqual(["4"]);

    tracker = applyEvent(tracker, event(3, "node.running", { node_id: "a", attempt: 1 }));
    expect(tracker.run?.lastSeq).toBe(4);
    expect(tracker.run?.nodes.a?.status).toBe("succeeded");
    expect(tracker.parked).toEqual({});
  });

  it("drains several parked events at once, in order", () => {
    const tracker = applyAll(snapshotted(), [
      event(6, "execution.succeeded"),
      event(5, "node.succeeded", { node_id: "b", attempt: 1 }),
      event(4, "node.running", { node_id: "b", attempt: 1 }),
      event(3, "node.skipped", { node_id: "a" }),
    ]);
    expect(tracker.run?.lastSeq).toBe(6);
    expect(tracker.run?.status).toBe("succeeded");
    expect(tracker.run?.nodes.a?.status).toBe("skipped");
    expect(tracker.run?.nodes.b?.status).toBe("succeeded");
    expect(tracker.parked).toEqual({});
  });

  it("parks events that come before the snapshot, then applies only the newer ones", () => {
    let tracker = applyAll(newTracker("ex1"), [
      event(2, "node.running", { node_id: "a", attempt: 1 }),
      event(3, "node.succeeded", { node_id: "a", attempt: 1, output: 7 }),
    ]);
    expect(tracker.run).toBeNull();
    tracker = applySnapshot(tracker, detail({ last_seq: 2, node_runs: [nodeRun("a", { status: "running", attempt: 1 })] }));
    expect(tracker.run?.lastSeq).toBe(3);
    expect(tracker.run?.nodes.a).toMatchObject({ status: "succeeded", output: 7 });
    expect(tracker.parked).toEqual({});
  });

  it("ignores another execution's events", () => {
    const base = snapshotted();
    expect(applyEvent(base, event(3, "execution.failed", { execution_id: "other" }))).toBe(base);
  });

  it("keeps the failed attempt on node.retrying, then counts the next on node.running", () => {
    const error = { message: "503", type: "HttpError", retryable: true };
    let tracker = applyAll(snapshotted(), [
      event(3, "node.running", { node_id: "a", attempt: 1 }),
      event(4, "node.retrying", { node_id: "a", attempt: 1, error }),
    ]);
    expect(tracker.run?.nodes.a).toMatchObject({ status: "retrying", attempt: 1, error });

    tracker = applyEvent(tracker, event(5, "node.running", { node_id: "a", attempt: 2 }));
    expect(tracker.run?.nodes.a).toMatchObject({
      status: "running",
      attempt: 2,
      error: null,
      startedAt: at(500),
      finishedAt: null,
    });
  });

  it("keeps the start of an attempt dispatched again (a durable wait resuming)", () => {
    const tracker = applyAll(snapshotted(), [
      event(3, "node.running", { node_id: "a", attempt: 1 }),
      event(4, "node.running", { node_id: "a", attempt: 1 }),
    ]);
    expect(tracker.run?.nodes.a?.startedAt).toBe(at(300));
  });

  it("sets the execution's status, error and finish from execution events", () => {
    const failure = {
      message: "node a failed",
      type: "HttpError",
      retryable: false,
      details: { node_id: "a" },
    };
    const tracker = applyAll(snapshotted({ status: "queued", started_at: null, last_seq: 1 }), [
      event(2, "execution.started"),
      event(3, "node.failed", { node_id: "a", attempt: 1, error: failure }),
      event(4, "node.cancelled", { node_id: "b" }),
      event(5, "execution.failed", { error: failure }),
    ]);
    const run = tracker.run!;
    expect(run.status).toBe("failed");
    expect(run.startedAt).toBe(at(200));
    expect(run.finishedAt).toBe(at(500));
    expect(run.error).toEqual(failure);
    expect(run.nodes.b?.status).toBe("cancelled");
    expect(isRunFinished(run)).toBe(true);
  });

  it("adds a node the snapshot did not list", () => {
    const tracker = applyEvent(snapshotted(), event(3, "node.running", { node_id: "new", attempt: 1 }));
    expect(tracker.run?.nodes.new).toMatchObject({ status: "running", attempt: 1 });
  });
});

describe("applySnapshot", () => {
  it("does not go back to an older snapshot", () => {
    const tracker = applyEvent(snapshotted(), event(3, "node.running", { node_id: "a", attempt: 1 }));
    expect(applySnapshot(tracker, detail({ last_seq: 2 }))).toBe(tracker);
  });

  it("takes a newer snapshot whole", () => {
    const tracker = applySnapshot(snapshotted(), detail({ last_seq: 9, status: "succeeded" }));
    expect(tracker.run).toMatchObject({ lastSeq: 9, status: "succeeded" });
  });
});

describe("applyProgress", () => {
  function running(): RunTracker {
    return applyEvent(snapshotted(), event(3, "node.running", { node_id: "a", attempt: 1 }));
  }

  it("joins chunks in index order, whatever order they come in", () => {
    const tracker = [progress("a", 1, 1, "lo, "), progress("a", 1, 0, "Hel"), progress("a", 1, 2, "world")]
      .reduce(applyProgress, running());
    expect(tracker.run?.nodes.a?.progressText).toBe("Hello, world");
  });

  it("skips a missing chunk rather than stalling", () => {
    const tracker = [progress("a", 1, 0, "A"), progress("a", 1, 2, "C")].reduce(applyProgress, running());
    expect(tracker.run?.nodes.a?.progressText).toBe("AC");
  });

  it("starts the text over for a new attempt and ignores the old attempt's chunks", () => {
    let tracker = applyProgress(running(), progress("a", 1, 0, "first try"));
    tracker = applyEvent(tracker, event(4, "node.retrying", { node_id: "a", attempt: 1 }));
    expect(tracker.run?.nodes.a?.progressText).toBeUndefined();
    tracker = applyEvent(tracker, event(5, "node.running", { node_id: "a", attempt: 2 }));
    tracker = applyProgress(tracker, progress("a", 2, 0, "second"));
    tracker = applyProgress(tracker, progress("a", 1, 1, " late"));
    expect(tracker.run?.nodes.a?.progressText).toBe("second");
  });

  it("accepts a new attempt's chunk that arrives before its node.running", () => {
    let tracker = applyEvent(running(), event(4, "node.retrying", { node_id: "a", attempt: 1 }));
    tracker = applyProgress(tracker, progress("a", 2, 0, "early"));
    tracker = applyEvent(tracker, event(5, "node.running", { node_id: "a", attempt: 2 }));
    expect(tracker.run?.nodes.a).toMatchObject({ status: "running", attempt: 2, progressText: "early" });
  });

  it("drops the streamed text once the node finishes (the output has it all)", () => {
    let tracker = applyProgress(running(), progress("a", 1, 0, "partial"));
    tracker = applyEvent(tracker, event(4, "node.succeeded", { node_id: "a", attempt: 1, output: { text: "all" } }));
    expect(tracker.run?.nodes.a?.progressText).toBeUndefined();
    expect(applyProgress(tracker, progress("a", 1, 1, "more"))).toBe(tracker);
  });

  it("waits for the snapshot", () => {
    const empty = newTracker("ex1");
    expect(applyProgress(empty, progress("a", 1, 0, "x"))).toBe(empty);
  });

  it("keeps streamed text across a newer snapshot of the same attempt", () => {
    const tracker = applyProgress(running(), progress("a", 1, 0, "so far"));
    const again = applySnapshot(
      tracker,
      detail({ last_seq: 3, node_runs: [nodeRun("a", { status: "running", attempt: 1 })] }),
    );
    expect(again.run?.nodes.a?.progressText).toBe("so far");
  });
});
