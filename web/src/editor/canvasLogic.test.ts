import { applySelectChanges, roundPositions } from "./Canvas";
import { toFlowNode } from "./flowModel";
import { sameFlowNode } from "./useFlowElements";
import { sampleGraph, TEST_CATALOGUE } from "./testGraphs";

describe("canvas selection", () => {
  it("applies React Flow's select changes to the selection", () => {
    const current = ["a"];
    expect(applySelectChanges(current, [{ type: "select", id: "b", selected: true }])).toEqual(["a", "b"]);
    expect(applySelectChanges(current, [{ type: "select", id: "a", selected: false }])).toEqual([]);
    // No select change: the very same list, so nothing re-renders.
    expect(applySelectChanges(current, [{ type: "dimensions" }])).toBe(current);
  });
});

describe("drag end", () => {
  it("rounds positions a drag left between pixels, and nothing else", () => {
    const graph = sampleGraph();
    const dragged = { ...graph, nodes: graph.nodes.map((n) => (n.id === "vip" ? { ...n, position: { x: 10.4, y: 20.6 } } : n)) };
    const rounded = roundPositions(dragged);
    expect(rounded.nodes.find((n) => n.id === "vip")?.position).toEqual({ x: 10, y: 21 });
    expect(roundPositions(graph)).toBe(graph);
  });
});

describe("flow node identity", () => {
  it("is kept when nothing a card shows has changed", () => {
    const graph = sampleGraph();
    const node = graph.nodes[1];
    if (!node) throw new Error("no node");
    const a = toFlowNode(node, graph, TEST_CATALOGUE);
    expect(sameFlowNode(a, toFlowNode(node, graph, TEST_CATALOGUE))).toBe(true);
    expect(sameFlowNode(a, toFlowNode(node, graph, TEST_CATALOGUE, { selectedNodes: new Set([node.id]) }))).toBe(false);
    expect(sameFlowNode(a, toFlowNode({ ...node, name: "x" }, graph, TEST_CATALOGUE))).toBe(false);
    const measured = toFlowNode(node, graph, TEST_CATALOGUE, { measured: new Map([[node.id, { width: 190, height: 60 }]]) });
    expect(sameFlowNode(a, measured)).toBe(false);
  });
});
