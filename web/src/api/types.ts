// Names for the API's shapes, and the WebSocket frames (which OpenAPI does not describe).
import type { components } from "./schema";

type Schemas = components["schemas"];
export type WorkflowSummary = Schemas["WorkflowSummary"];
export type WorkflowDetail = Schemas["WorkflowDetail"];
export type WorkflowExport = Schemas["WorkflowExport"];
export type ExecutionSummary = Schemas["ExecutionSummary"];
export type ExecutionDetail = Schemas["ExecutionDetail"];
export type ExecutionStatus = ExecutionSummary["status"];
export type NodeRunView = Schemas["NodeRunView"];
export type NodeRunStatus = NodeRunView["status"];
export type NodeError = Schemas["NodeError"];
export type NodeTypeView = Schemas["NodeTypeView"];
export type CredentialView = Schemas["CredentialView"];
export type CredentialTypeView = Schemas["CredentialTypeView"];
export type UserView = Schemas["UserView"];

/** A JSON schema as pydantic writes it (the subset the config forms read). */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  writeOnly?: boolean;
  [extension: `x-${string}`]: unknown;
}

/** The graph as saved (`graph` of a workflow); positions are the editor's. */
export interface GraphNode {
  id: string;
  type: string;
  name?: string | null;
  config?: Record<string, unknown>;
  retry?: { max_attempts?: number; initial_delay_ms?: number; multiplier?: number } | null;
  timeout_s?: number | null;
  on_error?: "fail" | "continue";
  credential_id?: string | null;
  position?: { x: number; y: number } | null;
}

export interface GraphEdge {
  source: string;
  target: string;
  source_handle?: string | null;
}

export interface WorkflowGraph {
  name: string;
  description?: string | null;
  nodes: GraphNode[];
  edges: GraphEdge[];
  settings?: Record<string, unknown> | null;
}

export type StatusEventType =
  | "execution.queued"
  | "execution.started"
  | "execution.succeeded"
  | "execution.failed"
  | "execution.cancelled"
  | "node.running"
  | "node.retrying"
  | "node.succeeded"
  | "node.failed"
  | "node.skipped"
  | "node.cancelled";

export interface StatusEvent {
  execution_id: string;
  workflow_id: string;
  seq: number;
  type: StatusEventType;
  at: string;
  node_id?: string | null;
  status: string;
  attempt?: number | null;
  output?: unknown;
  error?: NodeError | null;
}

export interface NodeProgress {
  type: "node.progress";
  execution_id: string;
  workflow_id: string;
  node_id: string;
  attempt: number;
  index: number;
  text: string;
  at: string;
}

export type ServerFrame =
  | { type: "snapshot"; execution: ExecutionDetail }
  | { type: "snapshot"; workflow_id: string; executions: ExecutionSummary[] }
  | { type: "event"; event: StatusEvent }
  | { type: "progress"; progress: NodeProgress }
  | { type: "pong" }
  | ErrorFrame;

/** An error; one that ended or refused a subscription names it. */
export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
  execution_id?: string;
  workflow_id?: string;
}
