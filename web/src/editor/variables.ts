// What a node's templates can read (docs/ARCHITECTURE.md, "Templates and expressions"):
// `trigger`, `nodes.<id>.output` of every node upstream of it, `input` and `execution`.
import type { WorkflowGraph } from "../api/types";
import { type Catalogue, ERROR_HANDLE, findNode, isTriggerType } from "./graphModel";

/** Every node with a path of edges into `nodeId`, nearest first. */
export function upstreamNodeIds(graph: WorkflowGraph, nodeId: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>([nodeId]);
  let frontier = [nodeId];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const current of frontier) {
      for (const edge of graph.edges) {
        if (edge.target === current && !seen.has(edge.source)) {
          seen.add(edge.source);
          order.push(edge.source);
          next.push(edge.source);
        }
      }
    }
    frontier = next;
  }
  return order;
}

/** The fields of each type's output, as the workflow format documents them. */
export const OUTPUT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "trigger.manual": [],
  "trigger.webhook": ["method", "path", "query", "headers", "body"],
  "trigger.cron": ["scheduled_for", "fired_at"],
  "trigger.event": ["routing_key", "headers", "body"],
  http: ["status", "headers", "body"],
  ai: ["text", "json", "usage", "cost_usd", "model", "finish_reason"],
  slack: ["ok", "status"],
  discord: ["ok", "status", "message"],
  transform: [],
  condition: ["branch", "matched_rule"],
  merge: [],
  wait: ["waited_until"],
};

export interface TemplateVariable {
  /** What to paste into a field, braces and all. */
  template: string;
  description: string;
  group: "trigger" | "nodes" | "input" | "execution";
}

const wrap = (path: string) => `{{ ${path} }}`;

function triggerVariables(graph: WorkflowGraph, catalogue: Catalogue, upstream: string[]): TemplateVariable[] {
  const triggers = upstream
    .map((id) => findNode(graph, id))
    .filter((node) => node !== undefined && isTriggerType(node.type, catalogue));
  const fields = new Set(triggers.flatMap((node) => OUTPUT_FIELDS[node?.type ?? ""] ?? []));
  const which = triggers.length === 1 ? ` of ${triggers[0]?.id}` : "";
  return [
    { template: wrap("trigger"), description: `the trigger's output${which}`, group: "trigger" },
    ...[...fields].map((field): TemplateVariable => ({
      template: wrap(`trigger.${field}`),
      description: `trigger output field ${field}`,
      group: "trigger",
    })),
  ];
}

function nodeVariables(graph: WorkflowGraph, upstream: string[]): TemplateVariable[] {
  return upstream.flatMap((id) => {
    const node = findNode(graph, id);
    if (!node) return [];
    const label = node.name ? `${node.name} (${node.type})` : node.type;
    const handled =
      node.on_error === "continue" ||
      graph.edges.some((edge) => edge.source === id && edge.source_handle === ERROR_HANDLE);
    return [
      { template: wrap(`nodes.${id}.output`), description: `output of ${label}`, group: "nodes" },
      ...(OUTPUT_FIELDS[node.type] ?? []).map((field): TemplateVariable => ({
        template: wrap(`nodes.${id}.output.${field}`),
        description: field,
        group: "nodes",
      })),
      ...(handled
        ? [{ template: wrap(`nodes.${id}.error`), description: `error of ${id}, when it failed`, group: "nodes" } as const]
        : []),
    ];
  });
}

/** The variables a template in node `nodeId` may use, for the hints beside its fields. */
export function templateVariables(
  graph: WorkflowGraph,
  catalogue: Catalogue,
  nodeId: string,
): TemplateVariable[] {
  const upstream = upstreamNodeIds(graph, nodeId);
  return [
    ...triggerVariables(graph, catalogue, upstream),
    {
      template: wrap("input"),
      description: "outputs of the predecessors whose edges into this node are active",
      group: "input",
    },
    ...nodeVariables(graph, upstream),
    { template: wrap("execution.id"), description: "this execution's id", group: "execution" },
    { template: wrap("execution.workflow_id"), description: "the workflow's id", group: "execution" },
    { template: wrap("execution.started_at"), description: "when the execution started", group: "execution" },
  ];
}
