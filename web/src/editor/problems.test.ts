import { dottedPath, mapProblems, problemMessages, shortMessage } from "./problems";
import { sampleGraph } from "./testGraphs";

describe("save problems", () => {
  const graph = sampleGraph();

  it("puts config problems beside their form field", () => {
    const map = mapProblems(
      [
        { code: "invalid_config", node_id: "lookup", field: "config.url", message: "node 'lookup': config.url: Field required" },
        { code: "invalid_config", node_id: "is_vip", field: "config.rules.0.branch", message: "node 'is_vip': config.rules.0.branch: bad" },
        { code: "invalid_template", node_id: "vip", field: "config.mapping.list[2]", message: "node 'vip': config.mapping.list[2]: unexpected '}'" },
      ],
      graph,
    );
    expect(map.byNode.lookup?.config).toEqual({ url: "Field required" });
    expect(map.byNode.is_vip?.config).toEqual({ "rules.0.branch": "bad" });
    expect(map.byNode.vip?.config).toEqual({ "mapping.list.2": "unexpected '}'" });
    expect(map.count).toBe(3);
    expect(problemMessages(map).lookup).toEqual(["config.url: Field required"]);
  });

  it("keeps model-level and edge problems on the node, and others on the workflow", () => {
    const map = mapProblems(
      [
        { code: "invalid_config", node_id: "vip", field: "config", message: "node 'vip': config: set exactly one" },
        { code: "unknown_branch", node_id: "is_vip", field: "edges[3].source_handle", message: "edges[3]: no branch" },
        { code: "no_trigger", field: "nodes", message: "the graph needs at least one trigger node" },
        { code: "dangling_edge", node_id: "ghost", field: "edges[0].target", message: "edges[0]: target 'ghost' is not a node" },
      ],
      graph,
    );
    expect(map.byNode.vip?.general).toEqual(["set exactly one"]);
    expect(map.byNode.is_vip?.general).toHaveLength(1);
    expect(map.workflow).toEqual(["the graph needs at least one trigger node", "edges[0]: target 'ghost' is not a node"]);
  });

  it("finds the node of a shape problem by its index in the graph sent", () => {
    const map = mapProblems(
      [
        { code: "invalid_shape", field: "nodes.1.timeout_s", message: "nodes.1.timeout_s: Input should be greater than 0" },
        { code: "invalid_shape", field: "nodes.3.id", message: "nodes.3.id: String should match pattern" },
        { code: "missing_credential", node_id: "lookup", field: "credential_id", message: "node 'lookup': a http node needs a credential_id" },
      ],
      graph,
    );
    expect(map.byNode.lookup?.settings).toEqual({
      timeout_s: "Input should be greater than 0",
      credential_id: "a http node needs a credential_id",
    });
    expect(map.byNode.vip?.settings.id).toBe("String should match pattern");
  });

  it("shortens paths and messages", () => {
    expect(dottedPath("a[0].b[12]")).toBe("a.0.b.12");
    expect(shortMessage({ code: "x", message: "node 'a': something", field: null })).toBe("something");
  });
});
