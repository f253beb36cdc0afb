import { connectionProblem, edgeFromConnection, reaches } from "./connections";
import { sampleGraph, TEST_CATALOGUE } from "./testGraphs";

const check = (source: string, target: string, sourceHandle: string | null = "default") =>
  connectionProblem(sampleGraph(), TEST_CATALOGUE, { source, target, sourceHandle });

describe("connections", () => {
  it("accepts a new edge between unconnected nodes", () => {
    expect(check("vip", "report")).toBeNull();
    expect(check("is_vip", "report", "other")).toBeNull();
  });

  it("refuses self loops, edges into triggers and duplicates", () => {
    expect(check("vip", "vip")).toMatch(/itself/);
    expect(check("vip", "start")).toMatch(/trigger/);
    expect(check("start", "lookup")).toMatch(/already/);
    expect(check("lookup", "report", "error")).toMatch(/already/);
  });

  it("allows the same pair through another handle", () => {
    expect(check("lookup", "report", "default")).toBeNull();
  });

  it("refuses cycles, however long", () => {
    expect(check("vip", "lookup")).toMatch(/loop/);
    expect(check("report", "lookup")).toMatch(/loop/);
    expect(reaches(sampleGraph(), "start", "vip")).toBe(true);
    expect(reaches(sampleGraph(), "vip", "start")).toBe(false);
  });

  it("turns a connection into the edge the graph stores", () => {
    const graph = sampleGraph();
    expect(edgeFromConnection(graph, { source: "vip", target: "report", sourceHandle: "default" })).toEqual({
      source: "vip",
      target: "report",
      source_handle: null,
    });
    expect(edgeFromConnection(graph, { source: "is_vip", target: "report", sourceHandle: "other" })?.source_handle).toBe(
      "other",
    );
    expect(edgeFromConnection(graph, { source: "nope", target: "report" })).toBeNull();
  });
});
