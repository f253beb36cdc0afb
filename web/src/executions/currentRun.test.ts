import { runFromDetail } from "../live/runState";
import { detail, nodeRun } from "../live/testData";
import { currentRun, failedNodeId, finishedNodeCount } from "./currentRun";

describe("currentRun", () => {
  it("uses whichever source is further on", () => {
    const live = { ...runFromDetail(detail({ last_seq: 5 })), status: "succeeded" as const };
    expect(currentRun(live, detail({ last_seq: 4 }))?.status).toBe("succeeded");
    expect(currentRun(live, detail({ last_seq: 6, status: "failed" }))?.status).toBe("failed");
  });

  it("takes each node's recorded input from the fetched detail", () => {
    const live = runFromDetail(detail({ last_seq: 9, node_runs: [nodeRun("a", { status: "succeeded" })] }));
    const fetched = detail({ last_seq: 8, node_runs: [nodeRun("a", { status: "running", input: { url: "u" } })] });
    const run = currentRun(live, fetched);
    expect(run?.nodes.a).toMatchObject({ status: "succeeded", input: { url: "u" } });
  });

  it("falls back to the one source there is", () => {
    expect(currentRun(null, null)).toBeNull();
    expect(currentRun(null, detail())?.executionId).toBe("ex1");
    const live = runFromDetail(detail());
    expect(currentRun(live, null)).toBe(live);
  });

  it("ignores a detail of another execution (the page moved on)", () => {
    const live = runFromDetail(detail());
    expect(currentRun(live, detail({ id: "other", last_seq: 99 }))).toBe(live);
  });
});

describe("failedNodeId", () => {
  it("prefers the node the execution's error names", () => {
    const run = runFromDetail(
      detail({
        status: "failed",
        error: { message: "x", type: "HttpError", retryable: false, details: { node_id: "b" } },
        node_runs: [nodeRun("a", { status: "failed" }), nodeRun("b", { status: "failed" })],
      }),
    );
    expect(failedNodeId(run)).toBe("b");
  });

  it("else finds a failed node, else none", () => {
    expect(failedNodeId(runFromDetail(detail({ node_runs: [nodeRun("a", { status: "failed" })] })))).toBe("a");
    expect(failedNodeId(runFromDetail(detail()))).toBeNull();
  });
});

describe("finishedNodeCount", () => {
  it("counts nodes past running", () => {
    expect(finishedNodeCount(runFromDetail(detail()))).toBe(1);
  });
});
