import type { WorkflowSummary } from "../api/types";
import { initialListState, listReducer } from "./useWorkflowList";
import type { ListState } from "./useWorkflowList";

function workflow(id: string, extra: Partial<WorkflowSummary> = {}): WorkflowSummary {
  return {
    id,
    name: `Workflow ${id}`,
    active: false,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    latest_version: 1,
    last_execution: null,
    ...extra,
  };
}

function loaded(query: string, ids: string[], total = ids.length): ListState {
  const requested = listReducer(initialListState(query), { type: "request", query, append: false });
  return listReducer(requested, {
    type: "receive",
    query,
    page: { items: ids.map((id) => workflow(id)), total },
    append: false,
  });
}

describe("listReducer", () => {
  it("starts loading and shows the first answer", () => {
    const start = initialListState("");
    expect(start).toMatchObject({ status: "loading", loaded: false, items: [] });
    const state = loaded("", ["a", "b"], 5);
    expect(state).toMatchObject({ status: "ready", loaded: true, total: 5 });
    expect(state.items.map((item) => item.id)).toEqual(["a", "b"]);
  });

  it("keeps the old rows while a new search is on its way, then replaces them", () => {
    const searching = listReducer(loaded("", ["a", "b"]), { type: "request", query: "or", append: false });
    expect(searching).toMatchObject({ status: "loading", query: "or", loaded: true });
    expect(searching.items).toHaveLength(2);
    const answered = listReducer(searching, {
      type: "receive",
      query: "or",
      page: { items: [workflow("c")], total: 1 },
      append: false,
    });
    expect(answered.items.map((item) => item.id)).toEqual(["c"]);
  });

  it("ignores answers and failures of an older search", () => {
    const searching = listReducer(loaded("", ["a"]), { type: "request", query: "new", append: false });
    const late = listReducer(searching, {
      type: "receive",
      query: "",
      page: { items: [workflow("old")], total: 1 },
      append: false,
    });
    expect(late).toBe(searching);
    expect(listReducer(searching, { type: "fail", query: "", error: "x", append: false })).toBe(searching);
  });

  it("appends the next page without repeating rows that shifted into it", () => {
    const more = listReducer(loaded("", ["a", "b"], 4), { type: "request", query: "", append: true });
    expect(more.loadingMore).toBe(true);
    const state = listReducer(more, {
      type: "receive",
      query: "",
      page: { items: [workflow("b"), workflow("c"), workflow("d")], total: 4 },
      append: true,
    });
    expect(state.items.map((item) => item.id)).toEqual(["a", "b", "c", "d"]);
    expect(state.loadingMore).toBe(false);
  });

  it("reports a failed load, and a failed next page without losing the rows", () => {
    const failed = listReducer(initialListState(""), { type: "fail", query: "", error: "down", append: false });
    expect(failed).toMatchObject({ status: "error", error: "down" });
    const moreFailed = listReducer(loaded("", ["a"], 3), { type: "fail", query: "", error: "down", append: true });
    expect(moreFailed).toMatchObject({ status: "ready", error: "down", loadingMore: false });
    expect(moreFailed.items).toHaveLength(1);
  });

  it("applies a change to one row and removes a deleted one", () => {
    const patched = listReducer(loaded("", ["a", "b"]), { type: "patch", id: "b", patch: { active: true } });
    expect(patched.items.map((item) => item.active)).toEqual([false, true]);
    const removed = listReducer(patched, { type: "remove", id: "a" });
    expect(removed.items.map((item) => item.id)).toEqual(["b"]);
    expect(removed.total).toBe(1);
    expect(listReducer(removed, { type: "remove", id: "zzz" }).total).toBe(1);
  });
});
