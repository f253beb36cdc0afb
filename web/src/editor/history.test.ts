import type { WorkflowGraph } from "../api/types";
import { canRedo, canUndo, createHistory, HISTORY_LIMIT, type History, historyReducer } from "./history";

const graph = (name: string): WorkflowGraph => ({ name, nodes: [], edges: [] });
const change = (h: History, name: string, now = 0, coalesceKey?: string) =>
  historyReducer(h, { type: "change", graph: graph(name), now, coalesceKey });

describe("history", () => {
  it("undoes and redoes changes in order", () => {
    let h = createHistory(graph("a"));
    h = change(change(h, "b"), "c");
    h = historyReducer(h, { type: "undo" });
    expect(h.present.name).toBe("b");
    h = historyReducer(h, { type: "undo" });
    expect(h.present.name).toBe("a");
    expect(canUndo(h)).toBe(false);
    h = historyReducer(h, { type: "redo" });
    expect(h.present.name).toBe("b");
    expect(canRedo(h)).toBe(true);
  });

  it("drops the redo branch on a new change", () => {
    let h = change(change(createHistory(graph("a")), "b"), "c");
    h = historyReducer(h, { type: "undo" });
    h = change(h, "d");
    expect(canRedo(h)).toBe(false);
    expect(historyReducer(h, { type: "undo" }).present.name).toBe("b");
  });

  it("records a drag as one entry when it ends", () => {
    let h = createHistory(graph("a"));
    for (const step of ["m1", "m2", "m3"]) h = historyReducer(h, { type: "preview", graph: graph(step) });
    expect(h.past).toHaveLength(0);
    h = historyReducer(h, { type: "commitPreview" });
    expect(h.present.name).toBe("m3");
    expect(h.past.map((g) => g.name)).toEqual(["a"]);
    expect(historyReducer(h, { type: "undo" }).present.name).toBe("a");
  });

  it("settles an unfinished preview before an undo", () => {
    let h = historyReducer(createHistory(graph("a")), { type: "preview", graph: graph("moving") });
    h = historyReducer(h, { type: "undo" });
    expect(h.present.name).toBe("a");
    expect(h.future.map((g) => g.name)).toEqual(["moving"]);
  });

  it("coalesces edits with the same key within the window", () => {
    let h = createHistory(graph("a"));
    h = change(h, "h", 0, "config:x");
    h = change(h, "ht", 500, "config:x");
    h = change(h, "htt", 900, "config:x");
    expect(h.past.map((g) => g.name)).toEqual(["a"]);
    h = change(h, "http", 5000, "config:x"); // too late: a new entry
    expect(h.past.map((g) => g.name)).toEqual(["a", "htt"]);
    h = change(h, "other", 5100, "name:x"); // another key: a new entry
    expect(h.past).toHaveLength(3);
  });

  it("does not coalesce across an undo", () => {
    let h = change(change(createHistory(graph("a")), "b", 0, "k"), "c", 100);
    h = historyReducer(h, { type: "undo" });
    h = change(h, "d", 200, "k");
    expect(h.past.map((g) => g.name)).toEqual(["a", "b"]);
  });

  it("applies an update to the present graph", () => {
    let h = change(createHistory(graph("a")), "b");
    h = historyReducer(h, { type: "change", graph: (g) => ({ ...g, name: `${g.name}!` }), now: 0 });
    expect(h.present.name).toBe("b!");
    h = historyReducer(h, { type: "preview", graph: (g) => g });
    expect(h.previewBase).toBeNull();
  });

  it("ignores a change to the very same graph", () => {
    const h = createHistory(graph("a"));
    expect(historyReducer(h, { type: "change", graph: h.present, now: 0 })).toBe(h);
  });

  it("keeps at most the limit of entries", () => {
    let h = createHistory(graph("0"));
    for (let i = 1; i <= HISTORY_LIMIT + 10; i += 1) h = change(h, String(i), i * 10_000);
    expect(h.past).toHaveLength(HISTORY_LIMIT);
    expect(h.past[0]?.name).toBe("10");
  });
});
