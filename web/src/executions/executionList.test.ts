import { at, detail, event, summary } from "../live/testData";
import { applyEventToRows, mergeRows, toSummary } from "./executionList";

const older = summary({ id: "old", created_at: at(-60_000), status: "succeeded", last_seq: 9 });
const newer = summary({ id: "new", created_at: at(0), status: "running", last_seq: 3 });

describe("mergeRows", () => {
  it("keeps one row per execution, newest first", () => {
    const rows = mergeRows([older], [newer, older], null);
    expect(rows.map((row) => row.id)).toEqual(["new", "old"]);
  });

  it("keeps the copy that is further on", () => {
    const rows = [summary({ id: "x", last_seq: 5, status: "succeeded" })];
    expect(mergeRows(rows, [summary({ id: "x", last_seq: 4, status: "running" })], null)).toBe(rows);
    const merged = mergeRows(rows, [summary({ id: "x", last_seq: 6, status: "succeeded", cost_usd: 0.5 })], null);
    expect(merged[0]?.cost_usd).toBe(0.5);
  });

  it("adds only rows that pass the filter, but updates the rows shown whatever they become", () => {
    const shown = [summary({ id: "x", status: "running", last_seq: 2 })];
    const merged = mergeRows(
      shown,
      [summary({ id: "x", status: "succeeded", last_seq: 5 }), summary({ id: "y", status: "succeeded" })],
      "running",
    );
    expect(merged.map((row) => [row.id, row.status])).toEqual([["x", "succeeded"]]);
  });

  it("leaves rows older than the floor to the next page, but still updates them", () => {
    const shown = [newer, summary({ id: "mid", created_at: at(-1000), last_seq: 1 })];
    const merged = mergeRows(
      shown,
      [older, summary({ id: "mid", created_at: at(-1000), last_seq: 2, status: "failed" })],
      null,
      at(-1000),
    );
    expect(merged.map((row) => [row.id, row.status])).toEqual([
      ["new", "running"],
      ["mid", "failed"],
    ]);
  });

  it("returns the same list when nothing changed", () => {
    const rows = [newer, older];
    expect(mergeRows(rows, [newer], null)).toBe(rows);
  });
});

describe("applyEventToRows", () => {
  it("moves a row's status on with execution events", () => {
    const rows = [summary({ status: "queued", started_at: null, last_seq: 1 })];
    let result = applyEventToRows(rows, event(2, "execution.started"));
    expect(result.rows[0]).toMatchObject({ status: "running", started_at: at(200), last_seq: 2 });
    result = applyEventToRows(result.rows, event(3, "node.running", { node_id: "a" }));
    expect(result.rows[0]).toMatchObject({ status: "running", last_seq: 3 });
    const error = { message: "boom", type: "HttpError", retryable: false };
    result = applyEventToRows(result.rows, event(4, "execution.failed", { error }));
    expect(result.rows[0]).toMatchObject({ status: "failed", finished_at: at(400), error });
  });

  it("ignores an event the row already reflects", () => {
    const rows = [summary({ last_seq: 5, status: "succeeded" })];
    expect(applyEventToRows(rows, event(4, "execution.failed"))).toEqual({ rows, known: true });
  });

  it("says when the execution is not in the list", () => {
    const rows = [summary()];
    expect(applyEventToRows(rows, event(1, "execution.started", { execution_id: "fresh" }))).toEqual({
      rows,
      known: false,
    });
  });
});

describe("toSummary", () => {
  it("drops the payload and node runs", () => {
    const row = toSummary(detail({ payload: { big: true } }));
    expect(row).not.toHaveProperty("node_runs");
    expect(row).not.toHaveProperty("payload");
    expect(row.id).toBe("ex1");
  });
});
