import type { NodeTypeView } from "../api/types";
import { createNode, defaultsFromSchema, freeSpot, initialConfig } from "./newNode";
import { sampleGraph, TEST_TYPES } from "./testGraphs";

const typeNamed = (name: string): NodeTypeView => {
  const found = TEST_TYPES.find((t) => t.name === name);
  if (!found) throw new Error(name);
  return found;
};

describe("new nodes", () => {
  it("start a condition with one rule and a default branch", () => {
    const config = initialConfig(typeNamed("condition"));
    expect(config.rules).toHaveLength(1);
    expect(config.default_branch).toBe("no");
  });

  it("give a webhook a path of its own", () => {
    expect(initialConfig(typeNamed("trigger.webhook"), () => "abc")).toEqual({ path: "hook-abc" });
  });

  it("fill an unknown type's required fields from its schema", () => {
    expect(
      defaultsFromSchema({
        type: "object",
        required: ["mode", "text", "count", "flag"],
        properties: {
          mode: { enum: ["a", "b"] },
          text: { type: "string" },
          count: { type: "integer", default: 3 },
          flag: { type: "boolean" },
          optional: { type: "string", default: "x" },
        },
      }),
    ).toEqual({ mode: "a", text: "", count: 3, flag: false });
  });

  it("get a fresh id and a rounded position", () => {
    const node = createNode(typeNamed("transform"), sampleGraph(), { x: 10.6, y: 20.2 });
    expect(node).toMatchObject({ id: "transform_1", type: "transform", position: { x: 11, y: 20 } });
  });

  it("are not stacked onto an existing node", () => {
    expect(freeSpot(sampleGraph(), { x: 250, y: 0 })).toEqual({ x: 280, y: 30 });
    expect(freeSpot(sampleGraph(), { x: 100, y: 100 })).toEqual({ x: 100, y: 100 });
  });
});
