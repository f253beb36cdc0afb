// A node added from the palette: a fresh id, and a small config that is valid where that is
// possible (a condition starts with one rule, a webhook with a path nobody else uses).
import type { GraphNode, JsonSchema, NodeTypeView, WorkflowGraph } from "../api/types";
import { nextNodeId } from "./ids";

/** Configs people start from, for the types whose required fields have no sensible default. */
function starterConfig(typeName: string, random: () => string): Record<string, unknown> | null {
  switch (typeName) {
    case "trigger.manual":
      return {};
    case "trigger.webhook":
      return { path: `hook-${random()}` };
    case "trigger.cron":
      return { expression: "0 * * * *", timezone: "UTC" };
    case "trigger.event":
      return { pattern: "orders.created" };
    case "http":
      return { method: "GET", url: "https://example.com" };
    case "ai":
      return { provider: "openai", model: "gpt-4o-mini", prompt: "{{ input }}" };
    case "slack":
      return { text: "Hello from Portico" };
    case "discord":
      return { content: "Hello from Portico" };
    case "transform":
      return { mapping: { value: "{{ input }}" } };
    case "condition":
      return {
        rules: [{ value: "{{ input }}", operator: "exists", compare_to: null, branch: "yes" }],
        default_branch: "no",
      };
    case "merge":
      return { mode: "by_node" };
    case "wait":
      return { seconds: 60 };
    default:
      return null;
  }
}

/** The value a required field starts with, from its schema: its default, its first choice. */
function requiredDefault(schema: JsonSchema | undefined): unknown {
  if (!schema) return undefined;
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string":
      return "";
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return {};
    default:
      return undefined;
  }
}

/** For a type the editor does not know: its required fields, each with its schema default. */
export function defaultsFromSchema(schema: JsonSchema): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const value = requiredDefault(schema.properties?.[name]);
    if (value !== undefined) config[name] = value;
  }
  return config;
}

export function initialConfig(type: NodeTypeView, random: () => string = randomSuffix): Record<string, unknown> {
  return starterConfig(type.name, random) ?? defaultsFromSchema(type.config_schema as JsonSchema);
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}

export function createNode(
  type: NodeTypeView,
  graph: WorkflowGraph,
  position: { x: number; y: number },
  random?: () => string,
): GraphNode {
  return {
    id: nextNodeId(type.name, graph.nodes.map((node) => node.id)),
    type: type.name,
    name: null,
    position: { x: Math.round(position.x), y: Math.round(position.y) },
    config: initialConfig(type, random),
  };
}

/** A spot near `wanted` that no node already sits on (clicking "add" twice stacks nothing). */
export function freeSpot(graph: WorkflowGraph, wanted: { x: number; y: number }): { x: number; y: number } {
  const spot = { ...wanted };
  const near = (node: GraphNode) =>
    Math.abs((node.position?.x ?? 0) - spot.x) < 20 && Math.abs((node.position?.y ?? 0) - spot.y) < 20;
  for (let tries = 0; tries < 50 && graph.nodes.some(near); tries += 1) {
    spot.x += 30;
    spot.y += 30;
  }
  return spot;
}
