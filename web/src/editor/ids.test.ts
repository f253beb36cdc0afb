import { idBase, NODE_ID_PATTERN, nextNodeId, nodeIdProblem, renameNode, renameReferences } from "./ids";
import { sampleGraph } from "./testGraphs";

describe("node ids", () => {
  it("makes ids from the type", () => {
    expect(nextNodeId("transform", [])).toBe("transform_1");
    expect(nextNodeId("http", ["http_1"])).toBe("http_2");
    expect(nextNodeId("trigger.webhook", ["x"])).toBe("trigger_webhook_1");
    expect(nextNodeId("ai", ["ai_2"])).toBe("ai_1");
  });

  it("always makes ids the server accepts", () => {
    for (const type of ["9lives", "..", "trigger.webhook", "a".repeat(200), "é-x"]) {
      expect(nextNodeId(type, [])).toMatch(NODE_ID_PATTERN);
    }
    expect(idBase("9lives")).toBe("node_9lives");
  });

  it("explains an id that cannot be used", () => {
    const graph = sampleGraph();
    expect(nodeIdProblem("", graph, "vip")).toMatch(/required/);
    expect(nodeIdProblem("1abc", graph, "vip")).toMatch(/Start with a letter/);
    expect(nodeIdProblem("lookup", graph, "vip")).toMatch(/already/);
    expect(nodeIdProblem("vip", graph, "vip")).toBeNull();
    expect(nodeIdProblem("vip_2", graph, "vip")).toBeNull();
  });
});

describe("renaming", () => {
  it("updates edges and templates that name the node", () => {
    const graph = renameNode(sampleGraph(), "lookup", "fetch_user");
    expect(graph.nodes.map((n) => n.id)).toContain("fetch_user");
    expect(graph.edges.filter((e) => e.source === "fetch_user")).toHaveLength(2);
    expect(graph.edges.some((e) => e.target === "fetch_user")).toBe(true);
    const vip = graph.nodes.find((n) => n.id === "vip");
    expect(vip?.config).toEqual({ mapping: { who: "{{ nodes.fetch_user.output.body.name }}" } });
  });

  it("leaves ids that merely start with the old one alone", () => {
    const renames = new Map([["a", "b"]]);
    expect(renameReferences("{{ nodes.a.output }} {{ nodes.a_2.output }} {{ nodes.a-b }}", renames)).toBe(
      "{{ nodes.b.output }} {{ nodes.a_2.output }} {{ nodes.a-b }}",
    );
    expect(renameReferences({ list: ["nodes['a'].output", 3] }, renames)).toEqual({
      list: ["nodes['b'].output", 3],
    });
  });
});
