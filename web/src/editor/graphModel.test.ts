import type { WorkflowGraph } from "../api/types";
import {
  conditionBranches,
  edgeId,
  flowHandleOf,
  followBranchRename,
  graphKey,
  moveNodes,
  removeElements,
  sourceHandleOf,
  sourceHandles,
} from "./graphModel";
import { toFlowEdges, toFlowNodes } from "./flowModel";
import { sampleGraph, TEST_CATALOGUE } from "./testGraphs";

const node = (graph: WorkflowGraph, id: string) => {
  const found = graph.nodes.find((n) => n.id === id);
  if (!found) throw new Error(id);
  return found;
};

describe("handles", () => {
  it("gives a trigger one output and no error handle", () => {
    const handles = sourceHandles(node(sampleGraph(), "start"), TEST_CATALOGUE);
    expect(handles.map((h) => h.id)).toEqual(["default"]);
  });

  it("gives a normal node its output and an error handle", () => {
    const handles = sourceHandles(node(sampleGraph(), "lookup"), TEST_CATALOGUE);
    expect(handles.map((h) => [h.id, h.kind])).toEqual([
      ["default", "default"],
      ["error", "error"],
    ]);
  });

  it("gives a condition one handle per distinct branch, then the default branch", () => {
    const config = {
      rules: [{ branch: "a" }, { branch: "b" }, { branch: "a" }],
      default_branch: "b",
    };
    expect(conditionBranches(config)).toEqual(["a", "b"]);
    expect(conditionBranches({ rules: [{ branch: "x" }] })).toEqual(["x", "default"]);
    const handles = sourceHandles({ id: "c", type: "condition", config }, TEST_CATALOGUE);
    expect(handles.map((h) => h.id)).toEqual(["a", "b", "error"]);
  });

  it("shows an edge's branch the condition no longer has as a missing handle", () => {
    const graph = sampleGraph();
    const condition = { ...node(graph, "is_vip"), config: { rules: [{ branch: "gold" }] } };
    const handles = sourceHandles(condition, TEST_CATALOGUE, graph.edges);
    expect(handles.find((h) => h.id === "vip")?.kind).toBe("missing");
  });

  it("maps source_handle to React Flow handles and back", () => {
    const graph = sampleGraph();
    const lookup = node(graph, "lookup");
    const isVip = node(graph, "is_vip");
    expect(flowHandleOf({ source: "lookup", target: "is_vip" }, lookup)).toBe("default");
    expect(flowHandleOf({ source: "lookup", target: "r", source_handle: "error" }, lookup)).toBe("error");
    expect(flowHandleOf({ source: "is_vip", target: "vip", source_handle: "vip" }, isVip)).toBe("vip");
    expect(sourceHandleOf("default", lookup)).toBeNull();
    expect(sourceHandleOf("error", lookup)).toBe("error");
    expect(sourceHandleOf("default", isVip)).toBe("default"); // a branch called "default"
    expect(sourceHandleOf("other", isVip)).toBe("other");
  });
});

describe("flow conversion", () => {
  it("keeps positions and marks triggers as having no target", () => {
    const nodes = toFlowNodes(sampleGraph(), TEST_CATALOGUE, { selectedNodes: new Set(["vip"]) });
    const start = nodes.find((n) => n.id === "start");
    const vip = nodes.find((n) => n.id === "vip");
    expect(start?.data.hasTarget).toBe(false);
    expect(vip?.data.hasTarget).toBe(true);
    expect(vip?.position).toEqual({ x: 750, y: 0 });
    expect(vip?.selected).toBe(true);
  });

  it("draws edges from the right handle", () => {
    const edges = toFlowEdges(sampleGraph());
    expect(edges.map((e) => [e.source, e.sourceHandle, e.target])).toEqual([
      ["start", "default", "lookup"],
      ["lookup", "default", "is_vip"],
      ["lookup", "error", "report"],
      ["is_vip", "vip", "vip"],
    ]);
    expect(edges[2]?.className).toBe("portico-edge-error");
    expect(new Set(edges.map((e) => e.id)).size).toBe(4);
  });

  it("puts run state and problems on the node data", () => {
    const nodes = toFlowNodes(sampleGraph(), TEST_CATALOGUE, {
      runNodes: { lookup: { status: "failed", error: { message: "boom", type: "E", retryable: false } } },
      problems: { vip: ["bad mapping"] },
    });
    expect(nodes.find((n) => n.id === "lookup")?.data.run?.status).toBe("failed");
    expect(nodes.find((n) => n.id === "vip")?.data.problems).toEqual(["bad mapping"]);
    expect(nodes.find((n) => n.id === "start")?.data.run).toBeNull();
  });
});

describe("graph edits", () => {
  it("compares graphs by meaning, not by omitted defaults or key order", () => {
    const graph = sampleGraph();
    const filled: WorkflowGraph = {
      settings: { max_concurrency: null },
      description: null,
      edges: graph.edges.map((e) => ({ source_handle: null, ...e })),
      nodes: graph.nodes.map((n) => ({ on_error: "fail", retry: null, credential_id: null, name: null, config: {}, ...n })),
      name: graph.name,
    };
    expect(graphKey(filled)).toBe(graphKey(graph));
    expect(graphKey(moveNodes(graph, new Map([["vip", { x: 1, y: 2 }]])))).not.toBe(graphKey(graph));
  });

  it("returns the same graph when a move moves nothing", () => {
    const graph = sampleGraph();
    expect(moveNodes(graph, new Map([["vip", { x: 750, y: 0 }]]))).toBe(graph);
  });

  it("removes nodes with their edges, and single edges", () => {
    const graph = sampleGraph();
    const withoutLookup = removeElements(graph, ["lookup"]);
    expect(withoutLookup.nodes.map((n) => n.id)).not.toContain("lookup");
    expect(withoutLookup.edges).toEqual([{ source: "is_vip", target: "vip", source_handle: "vip" }]);
    const firstEdge = graph.edges[0];
    if (!firstEdge) throw new Error("no edge");
    expect(removeElements(graph, [], [edgeId(firstEdge)]).edges).toHaveLength(3);
  });

  it("moves a condition's edges along when one branch is renamed", () => {
    const graph = sampleGraph();
    const before = node(graph, "is_vip").config;
    const after = { rules: [{ branch: "gold" }], default_branch: "other" };
    const renamed = followBranchRename(graph, "is_vip", before, after);
    expect(renamed.edges.find((e) => e.source === "is_vip")?.source_handle).toBe("gold");
    // Two branches changing at once is not a rename: edges stay.
    const two = { rules: [{ branch: "gold" }], default_branch: "rest" };
    expect(followBranchRename(graph, "is_vip", before, two)).toBe(graph);
  });
});
