import { act, renderHook } from "@testing-library/react";
import { api } from "../api/client";
import type { WorkflowDetail, WorkflowGraph } from "../api/types";
import { draftStorageKey } from "./autosave";
import { sampleGraph } from "./testGraphs";
import { useWorkflowSaver } from "./useWorkflowSaver";

type PutArgs = { params: { query: { expected_version: number } }; body: WorkflowGraph };

const detail = (version: number, graph: WorkflowGraph): WorkflowDetail => ({
  id: "w1",
  name: graph.name,
  active: false,
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
  latest_version: version,
  version,
  graph: graph as unknown as WorkflowDetail["graph"],
});

const ok = (body: unknown) => ({ data: body, response: new Response(null, { status: 200 }) });
const failed = (status: number, code: string, message: string, details: unknown = null) => ({
  error: { error: { code, message, details } },
  response: new Response(null, { status }),
});

function setup(answer: (args: PutArgs, call: number) => unknown) {
  const calls: PutArgs[] = [];
  const put = vi.spyOn(api, "PUT").mockImplementation(((_path: string, args: PutArgs) => {
    calls.push(args);
    return Promise.resolve(answer(args, calls.length));
  }) as never);
  const loaded = sampleGraph();
  const onSaved = vi.fn();
  const hook = renderHook(
    ({ graph }: { graph: WorkflowGraph }) =>
      useWorkflowSaver({ workflowId: "w1", graph, loadedVersion: 3, loadedGraph: loaded, onSaved }),
    { initialProps: { graph: loaded } },
  );
  const edit = (graph: WorkflowGraph) => hook.rerender({ graph });
  return { calls, put, hook, edit, loaded, onSaved };
}

const renamed = (name: string): WorkflowGraph => ({ ...sampleGraph(), name });

describe("useWorkflowSaver", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    localStorage.clear();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("never sends a graph equal to the one the server has", async () => {
    const { calls, hook, edit } = setup(() => ok(detail(4, sampleGraph())));
    edit({ ...sampleGraph(), edges: [...sampleGraph().edges] }); // a new object, the same meaning
    await act(() => vi.advanceTimersByTimeAsync(2000));
    expect(calls).toHaveLength(0);
    expect(hook.result.current.label).toBe("Saved");
  });

  it("saves once, 800 ms after the last change, with the version it was loaded at", async () => {
    const { calls, hook, edit, onSaved } = setup((args) => ok(detail(4, args.body)));
    edit(renamed("A"));
    expect(hook.result.current.label).toBe("Unsaved changes");
    await act(() => vi.advanceTimersByTimeAsync(500));
    edit(renamed("AB"));
    await act(() => vi.advanceTimersByTimeAsync(700));
    expect(calls).toHaveLength(0);
    await act(() => vi.advanceTimersByTimeAsync(200));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body.name).toBe("AB");
    expect(calls[0]?.params.query.expected_version).toBe(3);
    expect(hook.result.current.label).toBe("Saved");
    expect(onSaved).toHaveBeenCalledTimes(1);

    edit(renamed("ABC"));
    await act(() => vi.advanceTimersByTimeAsync(900));
    expect(calls[1]?.params.query.expected_version).toBe(4); // the version the last save made
  });

  it("keeps a refused graph as a draft with its problems, and does not resend it", async () => {
    const problems = [
      { code: "invalid_config", node_id: "lookup", field: "config.url", message: "node 'lookup': config.url: Field required" },
      { code: "no_trigger", field: "nodes", message: "the graph needs a trigger" },
    ];
    const { calls, hook, edit } = setup((args, n) =>
      n === 1 ? failed(422, "invalid_workflow", "the workflow has 2 problems", problems) : ok(detail(4, args.body)),
    );
    edit(renamed("Broken"));
    await act(() => vi.advanceTimersByTimeAsync(900));
    expect(hook.result.current.label).toBe("Not saved: 2 problems");
    expect(hook.result.current.problems.byNode.lookup?.config).toEqual({ url: "Field required" });
    expect(hook.result.current.problems.workflow).toEqual(["the graph needs a trigger"]);
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(calls).toHaveLength(1);
    expect(localStorage.getItem(draftStorageKey("w1"))).toContain("Broken");

    edit(renamed("Fixed"));
    await act(() => vi.advanceTimersByTimeAsync(900));
    expect(calls).toHaveLength(2);
    expect(hook.result.current.label).toBe("Saved");
    expect(localStorage.getItem(draftStorageKey("w1"))).toBeNull();
  });

  it("stops on a conflict until the person decides, then saves over the newer version", async () => {
    const { calls, hook, edit } = setup((args, n) =>
      n === 1
        ? failed(409, "version_conflict", "workflow w1 is at version 5, not 3", { latest_version: 5 })
        : ok(detail(6, args.body)),
    );
    edit(renamed("Mine"));
    await act(() => vi.advanceTimersByTimeAsync(900));
    expect(hook.result.current.conflict).toEqual({ message: "workflow w1 is at version 5, not 3", latestVersion: 5 });
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(calls).toHaveLength(1);
    act(() => hook.result.current.overwrite());
    await act(() => vi.advanceTimersByTimeAsync(900));
    expect(calls).toHaveLength(2);
    expect(calls[1]?.params.query.expected_version).toBe(5);
    expect(hook.result.current.label).toBe("Saved");
  });

  it("retries after a network failure", async () => {
    const { calls, hook, edit } = setup((args, n) =>
      n === 1 ? Promise.reject(new TypeError("Failed to fetch")) : ok(detail(4, args.body)),
    );
    edit(renamed("Offline"));
    await act(() => vi.advanceTimersByTimeAsync(900));
    expect(hook.result.current.failure).toMatch(/cannot be reached/);
    expect(hook.result.current.label).toBe("Unsaved changes");
    await act(() => vi.advanceTimersByTimeAsync(6000));
    expect(calls).toHaveLength(2);
    expect(hook.result.current.failure).toBeNull();
    expect(hook.result.current.label).toBe("Saved");
  });

  it("flushes at once when asked, answering whether the server has the graph", async () => {
    const { calls, hook, edit } = setup((args) => ok(detail(4, args.body)));
    expect(await hook.result.current.flush()).toBe(true); // nothing to save
    expect(calls).toHaveLength(0);
    edit(renamed("Now"));
    let saved = false;
    await act(async () => {
      saved = await hook.result.current.flush();
    });
    expect(saved).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it("sends what is unsaved when the editor goes away", async () => {
    const { calls, hook, edit } = setup((args) => ok(detail(4, args.body)));
    edit(renamed("Leaving"));
    hook.unmount();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body.name).toBe("Leaving");
  });

  it("sends what is unsaved when the tab goes away, once", async () => {
    const { calls, hook, edit } = setup((args) => ok(detail(4, args.body)));
    edit(renamed("Closing"));
    window.dispatchEvent(new Event("pagehide"));
    hook.unmount();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body.name).toBe("Closing");
  });
});
