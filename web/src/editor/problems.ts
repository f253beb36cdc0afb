// The problems of a rejected save (422 `invalid_workflow`), put where a person fixes them: on
// a node card, beside a config field, beside a node setting, or in the workflow-wide list.
import type { GraphProblem } from "../api/client";
import type { WorkflowGraph } from "../api/types";

export interface NodeProblems {
  /** Every message about the node (the card's tooltip). */
  messages: string[];
  /** Config form errors keyed by the form's dotted path ("url", "rules.0.branch"). */
  config: Record<string, string>;
  /** Errors of the node's own fields: "id", "name", "credential_id", "timeout_s", "retry.…". */
  settings: Record<string, string>;
  /** Messages that belong to no single field (a model-level config rule, an edge). */
  general: string[];
}

export interface ProblemMap {
  byNode: Record<string, NodeProblems>;
  /** Problems about the workflow as a whole (no trigger, a bad name). */
  workflow: string[];
  count: number;
}

export const NO_PROBLEMS: ProblemMap = { byNode: {}, workflow: [], count: 0 };

/** `a[0].b` → `a.0.b` (templates report paths with brackets, pydantic with dots). */
export function dottedPath(path: string): string {
  return path.replace(/\[(\d+)\]/g, ".$1").replace(/^\./, "");
}

/** The node a shape error's path points into (`nodes.3.config.url` → the 4th node), if any. */
function nodeAtPath(field: string, graph: WorkflowGraph): { id: string; rest: string } | null {
  const match = /^nodes\.(\d+)(?:\.(.*))?$/.exec(dottedPath(field));
  if (!match) return null;
  const node = graph.nodes[Number(match[1])];
  return node ? { id: node.id, rest: match[2] ?? "" } : null;
}

/** The message without its "node 'x': config.url: " prefix, for showing beside the field. */
export function shortMessage(problem: GraphProblem): string {
  const field = problem.field;
  if (field) {
    const marker = `${field}: `;
    const at = problem.message.indexOf(marker);
    if (at >= 0) return problem.message.slice(at + marker.length);
  }
  return cardMessage(problem);
}

/** The message without the "node 'x': " it starts with (the card already says which node). */
export function cardMessage(problem: GraphProblem): string {
  return problem.message.replace(/^node '[^']*': /, "");
}

function emptyNodeProblems(): NodeProblems {
  return { messages: [], config: {}, settings: {}, general: [] };
}

/** Place one problem's field within its node. */
function place(target: NodeProblems, field: string, problem: GraphProblem) {
  const text = shortMessage(problem);
  const path = dottedPath(field);
  if (path === "config" || path === "") {
    target.general.push(text);
  } else if (path.startsWith("config.")) {
    const key = path.slice("config.".length);
    target.config[key] = target.config[key] ? `${target.config[key]}; ${text}` : text;
  } else if (/^(id|name|credential_id|timeout_s|on_error|retry(\..*)?)$/.test(path)) {
    target.settings[path] = text;
  } else {
    target.general.push(text);
  }
}

/** Sort a save's problems by where they are, in the graph that was sent. */
export function mapProblems(problems: readonly GraphProblem[], sent: WorkflowGraph): ProblemMap {
  const byNode: Record<string, NodeProblems> = {};
  const workflow: string[] = [];
  const ids = new Set(sent.nodes.map((node) => node.id));
  for (const problem of problems) {
    const field = problem.field ?? "";
    const fromPath = nodeAtPath(field, sent);
    const nodeId = problem.node_id && ids.has(problem.node_id) ? problem.node_id : fromPath?.id;
    if (!nodeId) {
      workflow.push(problem.message);
      continue;
    }
    const target = (byNode[nodeId] ??= emptyNodeProblems());
    target.messages.push(cardMessage(problem));
    const inNode = fromPath && fromPath.id === nodeId ? fromPath.rest : field;
    place(target, /^edges/.test(inNode) ? "" : inNode, problem);
  }
  return { byNode, workflow, count: problems.length };
}

/** The messages per node, for the canvas's problem markers. */
export function problemMessages(map: ProblemMap): Record<string, readonly string[]> {
  return Object.fromEntries(Object.entries(map.byNode).map(([id, found]) => [id, found.messages]));
}
