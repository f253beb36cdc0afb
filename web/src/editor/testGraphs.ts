// Graphs and a catalogue for the editor's tests (a small copy of GET /api/node-types).
import type { NodeTypeView, WorkflowGraph } from "../api/types";
import { catalogueMap } from "./graphModel";

function type(name: string, category: string, extra: Partial<NodeTypeView> = {}): NodeTypeView {
  return {
    name,
    category,
    label: name,
    description: `${name} node`,
    is_trigger: category === "trigger",
    needs_credential: false,
    credential_types: [],
    config_schema: { type: "object", properties: {} },
    ...extra,
  };
}

export const TEST_TYPES: NodeTypeView[] = [
  type("trigger.manual", "trigger", { label: "Manual trigger" }),
  type("trigger.webhook", "trigger", { label: "Webhook", credential_types: ["hmac_secret"] }),
  type("http", "action", { label: "HTTP request", credential_types: ["http_bearer"] }),
  type("ai", "action", { label: "AI model", needs_credential: true, credential_types: ["openai"] }),
  type("transform", "logic", { label: "Transform" }),
  type("condition", "logic", { label: "Condition" }),
];

export const TEST_CATALOGUE = catalogueMap(TEST_TYPES);

/** start → lookup → is_vip —vip→ vip; lookup —error→ report */
export function sampleGraph(): WorkflowGraph {
  return {
    name: "Greet",
    nodes: [
      { id: "start", type: "trigger.manual", position: { x: 0, y: 0 } },
      { id: "lookup", type: "http", config: { url: "https://x.test/{{ trigger.id }}" }, position: { x: 250, y: 0 } },
      {
        id: "is_vip",
        type: "condition",
        config: {
          rules: [{ value: "{{ nodes.lookup.output.body.plan }}", operator: "eq", compare_to: "x", branch: "vip" }],
          default_branch: "other",
        },
        position: { x: 500, y: 0 },
      },
      { id: "vip", type: "transform", config: { mapping: { who: "{{ nodes.lookup.output.body.name }}" } }, position: { x: 750, y: 0 } },
      { id: "report", type: "transform", config: { mapping: { failed: "{{ input }}" } }, position: { x: 500, y: 200 } },
    ],
    edges: [
      { source: "start", target: "lookup" },
      { source: "lookup", target: "is_vip" },
      { source: "lookup", target: "report", source_handle: "error" },
      { source: "is_vip", target: "vip", source_handle: "vip" },
    ],
  };
}
