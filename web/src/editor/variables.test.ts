import { templateVariables, upstreamNodeIds } from "./variables";
import { sampleGraph, TEST_CATALOGUE } from "./testGraphs";

describe("upstream nodes", () => {
  it("lists every node with a path into the node, nearest first", () => {
    expect(upstreamNodeIds(sampleGraph(), "vip")).toEqual(["is_vip", "lookup", "start"]);
    expect(upstreamNodeIds(sampleGraph(), "report")).toEqual(["lookup", "start"]);
    expect(upstreamNodeIds(sampleGraph(), "start")).toEqual([]);
  });
});

describe("template variables", () => {
  const templates = (nodeId: string) =>
    templateVariables(sampleGraph(), TEST_CATALOGUE, nodeId).map((v) => v.template);

  it("offers the outputs of upstream nodes only", () => {
    const vars = templates("is_vip");
    expect(vars).toContain("{{ nodes.lookup.output }}");
    expect(vars).toContain("{{ nodes.lookup.output.body }}");
    expect(vars).toContain("{{ nodes.start.output }}");
    expect(vars).not.toContain("{{ nodes.vip.output }}");
    expect(vars).not.toContain("{{ nodes.is_vip.output }}");
  });

  it("always offers trigger, input and execution", () => {
    const vars = templates("start");
    expect(vars).toEqual(
      expect.arrayContaining(["{{ trigger }}", "{{ input }}", "{{ execution.id }}", "{{ execution.started_at }}"]),
    );
  });

  it("offers the error of a node whose failure is handled", () => {
    expect(templates("report")).toContain("{{ nodes.lookup.error }}");
    expect(templates("vip")).not.toContain("{{ nodes.is_vip.error }}");
  });

  it("names the fields of a webhook trigger's output", () => {
    const graph = sampleGraph();
    const webhook = { ...graph, nodes: graph.nodes.map((n) => (n.id === "start" ? { ...n, type: "trigger.webhook" } : n)) };
    const vars = templateVariables(webhook, TEST_CATALOGUE, "lookup").map((v) => v.template);
    expect(vars).toContain("{{ trigger.body }}");
    expect(vars).toContain("{{ trigger.headers }}");
  });
});
