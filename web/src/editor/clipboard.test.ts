import { copyNodes, parseClipboard, pasteNodes, serializeClipboard } from "./clipboard";
import { sampleGraph } from "./testGraphs";

describe("clipboard", () => {
  it("copies the chosen nodes and only the edges between them", () => {
    const payload = copyNodes(sampleGraph(), ["lookup", "is_vip", "start_missing"]);
    expect(payload?.nodes.map((n) => n.id)).toEqual(["lookup", "is_vip"]);
    expect(payload?.edges).toEqual([{ source: "lookup", target: "is_vip" }]);
    expect(copyNodes(sampleGraph(), [])).toBeNull();
  });

  it("round-trips through text and rejects other text", () => {
    const payload = copyNodes(sampleGraph(), ["vip"]);
    if (!payload) throw new Error("nothing copied");
    expect(parseClipboard(serializeClipboard(payload))).toEqual(payload);
    expect(parseClipboard("hello")).toBeNull();
    expect(parseClipboard('{"format":"other","nodes":[],"edges":[]}')).toBeNull();
    expect(parseClipboard('{"format":"portico.nodes","nodes":[{"id":1}],"edges":[]}')).toBeNull();
  });

  it("pastes with new ids, offset positions, and edges and templates remapped", () => {
    const graph = sampleGraph();
    const payload = copyNodes(graph, ["lookup", "vip", "is_vip"]);
    if (!payload) throw new Error("nothing copied");
    const { graph: after, pastedIds } = pasteNodes(graph, payload, { x: 40, y: 40 });
    expect(pastedIds).toEqual(["http_1", "condition_1", "transform_1"]);
    expect(after.nodes).toHaveLength(graph.nodes.length + 3);
    const pastedHttp = after.nodes.find((n) => n.id === "http_1");
    expect(pastedHttp?.position).toEqual({ x: 290, y: 40 });
    expect(after.edges.slice(graph.edges.length)).toEqual([
      { source: "http_1", target: "condition_1" },
      { source: "condition_1", target: "transform_1", source_handle: "vip" },
    ]);
    const pastedVip = after.nodes.find((n) => n.id === "transform_1");
    expect(pastedVip?.config).toEqual({ mapping: { who: "{{ nodes.http_1.output.body.name }}" } });
    // The originals are untouched.
    expect(after.nodes.find((n) => n.id === "vip")?.config).toEqual(graph.nodes[3]?.config);
  });

  it("keeps ids unique when pasting twice", () => {
    const graph = sampleGraph();
    const payload = copyNodes(graph, ["vip"]);
    if (!payload) throw new Error("nothing copied");
    const once = pasteNodes(graph, payload, { x: 40, y: 40 }).graph;
    const twice = pasteNodes(once, payload, { x: 80, y: 80 });
    expect(twice.pastedIds).toEqual(["transform_2"]);
    expect(new Set(twice.graph.nodes.map((n) => n.id)).size).toBe(twice.graph.nodes.length);
  });
});
